"""LeaseKeeper over both backends: renews, notices a takeover, releases on stop."""

from __future__ import annotations

import asyncio

from server.bus import MemoryBus
from server.bus.keeper import LeaseKeeper
from server.bus.redis import RedisBus
from tests.support.backends import Backend
from tests.support.redis_server import RedisServer

TTL = 0.3


async def _wait_lost(keeper: LeaseKeeper, timeout: float = 3.0) -> None:
    await asyncio.wait_for(keeper.lost.wait(), timeout)


async def test_keeper_holds_the_lease_past_its_ttl(backend: Backend) -> None:
    # the keeper sleeps in real time, so the memory bus gets a clock that follows it
    bus = MemoryBus(asyncio.get_running_loop().time) if backend.kind == "memory" else backend.bus
    peer = bus if backend.kind == "memory" else backend.peer()
    lease = await bus.acquire_lease("room:1:owner", "proc-a", TTL)
    assert lease is not None
    keeper = LeaseKeeper(bus, lease, TTL).start()
    await asyncio.sleep(TTL * 3)
    assert not keeper.lost.is_set()
    assert await peer.get_lease("room:1:owner") == lease
    await keeper.stop()
    assert keeper.lost.is_set()
    assert await peer.get_lease("room:1:owner") is None  # released


async def test_keeper_notices_a_takeover(backend: Backend) -> None:
    lease = await backend.bus.acquire_lease("L", "proc-a", 30)
    assert lease is not None
    keeper = LeaseKeeper(backend.bus, lease, 30, interval=0.05).start()
    # the lease is forced away (as if it had expired) and another process takes over
    await backend.bus.delete("L")
    other = await backend.peer().acquire_lease("L", "proc-b", 30)
    assert other is not None and other.epoch > lease.epoch
    await _wait_lost(keeper)
    await keeper.stop()
    assert await backend.bus.get_lease("L") == other  # stopping a lost keeper releases nothing


async def test_keeper_gives_up_when_the_bus_stays_down(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        lease = await bus.acquire_lease("L", "proc-a", TTL)
        assert lease is not None
        keeper = LeaseKeeper(bus, lease, TTL, interval=0.05).start()
        own_redis.stop(kill=True)
        started = asyncio.get_running_loop().time()
        await _wait_lost(keeper)
        assert asyncio.get_running_loop().time() - started < TTL + 0.5
        # not before the last good renewal could have expired
        assert asyncio.get_running_loop().time() - started >= TTL / 3
        await keeper.stop()  # releasing is impossible now and must not raise
    finally:
        await bus.close()
