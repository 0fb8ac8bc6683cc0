"""Redis only: the bus survives a redis-server stop and restart by itself."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time

import pytest

from server.bus import BusUnavailable, MemoryBus, Message, open_bus
from server.bus.redis import POOL_SIZE, RedisBus
from server.config import Config
from tests.support.redis_server import RedisServer


async def _until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return
        except BusUnavailable:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_open_bus_picks_by_config(redis_server: RedisServer) -> None:
    assert isinstance(open_bus(Config(redis_url="")), MemoryBus)
    assert isinstance(open_bus(Config(redis_url=redis_server.url)), RedisBus)


async def test_unreachable_at_start_raises_busunavailable() -> None:
    from tests.support.redis_server import free_port

    bus = RedisBus.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(BusUnavailable):
            await bus.ping()
        with pytest.raises(BusUnavailable):
            await bus.set("k", b"v")
        with pytest.raises(BusUnavailable):
            await bus.subscribe("c").open()
    finally:
        await bus.close()


async def test_commands_fail_clearly_then_recover(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        await bus.set("k", b"before")
        own_redis.stop(kill=True)
        caplog.set_level(logging.WARNING, logger="server.bus")
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(BusUnavailable):
                await bus.get("k")
            with pytest.raises(BusUnavailable):
                await bus.publish("c", b"x")
        assert time.monotonic() - started < 5, "calls during an outage must fail fast"
        own_redis.start()
        assert await bus.get("k") is None  # no persistence: the data went with the server
        await bus.set("k", b"after")
        assert await bus.get("k") == b"after"
        lines = [r.getMessage() for r in caplog.records if r.name == "server.bus"]
        assert sum("unreachable" in line for line in lines) == 1, lines
        assert sum("reachable again" in line for line in lines) == 1, lines
    finally:
        await bus.close()


async def test_subscription_resubscribes_after_restart(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    publisher = RedisBus.from_url(own_redis.url)
    try:
        async with bus.subscribe("room:1", patterns=("lobby:*",)) as sub:
            await publisher.publish("room:1", b"before")
            assert await sub.get(timeout=2) == Message("room:1", b"before")

            own_redis.stop(kill=True)
            with pytest.raises(BusUnavailable):
                await publisher.publish("room:1", b"lost")
            await asyncio.sleep(0.3)  # the reader notices and keeps retrying meanwhile
            own_redis.start()

            async def delivered() -> bool:
                await publisher.publish("room:1", b"after")
                return await sub.get(timeout=0.2) == Message("room:1", b"after")

            await _until(delivered)
            assert bus.resubscribes >= 1
            await publisher.publish("lobby:rooms", b"list")
            message = await sub.get(timeout=2)
            while message is not None and message.data == b"after":  # extra retries' copies
                message = await sub.get(timeout=2)
            assert message == Message("lobby:rooms", b"list", "lobby:*")
        # leaving the scope unsubscribed for real on the new connection
        assert await publisher.publish("room:1", b"gone") == 0
    finally:
        await bus.close()
        await publisher.close()


async def test_subscribe_during_outage_raises_then_works(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        own_redis.stop(kill=True)
        with pytest.raises(BusUnavailable):
            async with bus.subscribe("c"):
                pass
        own_redis.start()
        async with bus.subscribe("c") as sub:
            await bus.publish("c", b"ok")
            assert await sub.get(timeout=2) == Message("c", b"ok")
    finally:
        await bus.close()


async def test_leases_and_streams_work_after_restart(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        lease = await bus.acquire_lease("L", "a", 5)
        assert lease is not None
        own_redis.restart()  # data lost: the scripts must be loaded again, epochs keep growing
        again = await bus.acquire_lease("L", "b", 5)
        assert again is not None and again.epoch > lease.epoch
        assert not await bus.renew_lease(lease, 5)
        assert await bus.xgroup_create("s", "g")
        await bus.xadd("s", {"k": b"v"}, 10)
        assert len(await bus.xreadgroup("s", "g", "c")) == 1
    finally:
        await bus.close()


async def test_subscriptions_do_not_leak_connections_or_channels(redis_url: str) -> None:
    bus = RedisBus.from_url(redis_url)
    probe = RedisBus.from_url(redis_url)
    try:
        async with bus.subscribe("warm"):
            pass
        clients_before = len(await probe._client.client_list())
        for i in range(200):
            async with bus.subscribe(f"room:{i}", patterns=(f"p:{i}:*",)) as sub:
                await probe.publish(f"room:{i}", b"x")
                assert await sub.get(timeout=2) == Message(f"room:{i}", b"x")
        assert await probe._client.pubsub_numpat() == 0
        assert await probe._client.pubsub_channels() == []
        assert len(await probe._client.client_list()) <= clients_before + 1
        assert bus.available
    finally:
        await bus.close()
        await probe.close()


async def test_available_follows_the_outage(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        await bus.ping()
        assert bus.available
        own_redis.stop(kill=True)
        with pytest.raises(BusUnavailable):
            await bus.ping()
        assert not bus.available
        own_redis.start()
        await bus.ping()
        assert bus.available
    finally:
        await bus.close()


async def test_a_burst_bigger_than_the_pool_waits_its_turn(redis_server: RedisServer) -> None:
    # Many more concurrent commands than pooled connections: each waits for a free one
    # instead of failing with "Too many connections" (which lost joins under load).
    bus = RedisBus.from_url(redis_server.url)
    try:
        burst = 4 * POOL_SIZE
        await asyncio.gather(*(bus.set(f"burst:{i}", b"x", 10) for i in range(burst)))
        got = await asyncio.gather(*(bus.get(f"burst:{i}") for i in range(burst)))
        assert got == [b"x"] * burst
    finally:
        await bus.close()


async def test_new_pooled_connections_do_not_look_the_client_version_up_each(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # redis-py 8 read the installed packages' metadata for every new connection (about
    # 1 ms each): a burst that filled the pool stalled the event loop for all of them.
    bus = RedisBus.from_url(redis_server.url)
    lookups = 0
    real = importlib.metadata.version

    def counted(name: str) -> str:
        nonlocal lookups
        lookups += 1
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", counted)
    try:
        await asyncio.gather(*(bus.set(f"burst:{i}", b"x", 10) for i in range(2 * POOL_SIZE)))
        assert lookups == 0
        assert len(await bus._client.client_list()) >= POOL_SIZE // 2  # the pool did fill
    finally:
        await bus.close()
