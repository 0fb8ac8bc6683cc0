"""LeaseGroup over both backends: renews many leases in one call, notices each lost one."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from server.bus import Bus, HeldLease, Lease, LeaseGroup, MemoryBus
from server.bus.redis import RedisBus
from tests.support.backends import Backend
from tests.support.redis_server import RedisServer

# Long enough that a busy machine (a stall of a few hundred ms between two renewals) does not
# let a held lease lapse; the renewals come every TTL / 3.
TTL = 0.8


async def _wait_lost(held: HeldLease, timeout: float = 3.0) -> None:
    await asyncio.wait_for(held.lost.wait(), timeout)


async def _acquire(bus: Bus, key: str, ttl: float = TTL) -> Lease:
    lease = await bus.acquire_lease(key, "proc-a", ttl)
    assert lease is not None
    return lease


async def test_group_holds_its_leases_past_their_ttl(backend: Backend) -> None:
    # the group sleeps in real time, so the memory bus gets a clock that follows it
    bus = MemoryBus(asyncio.get_running_loop().time) if backend.kind == "memory" else backend.bus
    peer = bus if backend.kind == "memory" else backend.peer()
    group = LeaseGroup(bus, TTL).start()
    first, second = await _acquire(bus, "room:1:owner"), await _acquire(bus, "room:2:owner")
    held = [group.add(first), group.add(second)]
    await asyncio.sleep(TTL * 2)
    assert not any(h.lost.is_set() for h in held)
    assert await peer.get_lease("room:1:owner") == first
    assert await peer.get_lease("room:2:owner") == second
    await group.release(held[0])
    assert held[0].lost.is_set()
    assert await peer.get_lease("room:1:owner") is None  # released
    await asyncio.sleep(TTL * 1.5)
    assert await peer.get_lease("room:2:owner") == second  # still renewed
    group.drop(held[1])
    await asyncio.sleep(TTL * 1.5)
    assert await peer.get_lease("room:2:owner") is None  # dropped: it lapsed
    assert not held[1].lost.is_set()  # ... which the group no longer watches
    assert len(group) == 0
    await group.stop()


async def test_group_notices_each_takeover_on_its_own(backend: Backend) -> None:
    bus = backend.bus
    group = LeaseGroup(bus, 30, interval=0.05).start()
    taken, kept = await _acquire(bus, "L1", 30), await _acquire(bus, "L2", 30)
    held_taken, held_kept = group.add(taken), group.add(kept)
    # the first lease is forced away (as if it had expired) and another process takes over
    await bus.delete("L1")
    other = await backend.peer().acquire_lease("L1", "proc-b", 30)
    assert other is not None and other.epoch > taken.epoch
    await _wait_lost(held_taken)
    await asyncio.sleep(0.2)
    assert not held_kept.lost.is_set()
    assert len(group) == 1
    await group.release(held_taken)  # releasing a lost lease releases nothing
    assert await bus.get_lease("L1") == other
    await group.stop()
    assert await bus.get_lease("L2") == kept  # stopping releases nothing either


async def test_group_renews_every_lease_in_one_call(redis_url: str) -> None:
    bus = RedisBus.from_url(redis_url)
    stats = aioredis.Redis.from_url(redis_url)
    try:
        group = LeaseGroup(bus, 30)  # not started: the test runs the rounds
        held = [group.add(await _acquire(bus, f"room:{i}:owner", 30)) for i in range(50)]

        async def calls() -> dict[str, int]:
            info = await stats.info("commandstats")
            return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}

        before = await calls()
        for _ in range(3):
            await group.renew()
        after = await calls()
        ran = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
        # one script call per round, running a GET and a PEXPIRE per lease inside Redis
        assert ran == {"info": 1, "evalsha": 3, "get": 150, "pexpire": 150}
        assert all(not h.lost.is_set() for h in held)
        assert 29_000 < await stats.pttl("room:49:owner") <= 30_000
    finally:
        await stats.aclose()
        await bus.close()


async def test_group_gives_up_when_the_bus_stays_down(own_redis: RedisServer) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        group = LeaseGroup(bus, TTL, interval=0.05).start()
        held = [group.add(await _acquire(bus, f"L{i}")) for i in range(3)]
        own_redis.stop(kill=True)
        started = asyncio.get_running_loop().time()
        for h in held:
            await _wait_lost(h)
        assert asyncio.get_running_loop().time() - started < TTL + 0.5
        # not before the last good renewal could have expired
        assert asyncio.get_running_loop().time() - started >= TTL / 3
        await group.release(held[0])  # releasing is impossible now and must not raise
        await group.stop()
    finally:
        await bus.close()
