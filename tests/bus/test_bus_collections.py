"""Contract: presence with TTLs, sorted sets, hashes and capped lists."""

from __future__ import annotations

import pytest

from server.bus import Bus
from tests.support.backends import Backend

# Redis counts TTLs in real time: long enough that a busy machine's stall of a few hundred ms
# between a write and the read after it does not expire what was just written.
TTL = 1.0


async def test_presence_lists_live_members(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    await bus.presence_set("online", "ann", TTL, b'{"room":"r1"}')
    await peer.presence_set("online", "bob", TTL * 10)
    assert await bus.presence_list("online") == {"ann": b'{"room":"r1"}', "bob": b""}
    assert await bus.presence_list("nobody") == {}


async def test_presence_expires_unless_refreshed(backend: Backend) -> None:
    bus = backend.bus
    await bus.presence_set("procs", "a", TTL)
    await bus.presence_set("procs", "b", TTL)
    await backend.advance(TTL * 0.6)
    await bus.presence_set("procs", "a", TTL, b"refreshed")
    await backend.advance(TTL * 0.6)
    assert await bus.presence_list("procs") == {"a": b"refreshed"}
    await backend.advance(TTL * 1.2)
    assert await bus.presence_list("procs") == {}


async def test_presence_remove(bus: Bus) -> None:
    await bus.presence_set_many("online", {n: n.encode() for n in ("ann", "bob", "cy", "dee")}, 60)
    await bus.presence_remove("online", "ann")
    await bus.presence_remove("online", "nobody")
    assert await bus.presence_list("online") == {"bob": b"bob", "cy": b"cy", "dee": b"dee"}
    await bus.presence_remove("online", "bob", "nobody", "dee")  # several in one call
    await bus.presence_remove("online")  # none: nothing to do
    assert await bus.presence_list("online") == {"cy": b"cy"}


async def test_sorted_set_increments_and_ranks(bus: Bus) -> None:
    assert await bus.zincrby("wins", "ann", 1) == 1.0
    assert await bus.zincrby("wins", "bob", 3) == 3.0
    assert await bus.zincrby("wins", "ann", 1) == 2.0
    await bus.zincrby("wins", "cid", 2)
    # equal scores: ascending by member, so descending lists them in reverse order
    assert await bus.zrange("wins") == [("bob", 3.0), ("cid", 2.0), ("ann", 2.0)]
    assert await bus.zrange("wins", desc=False) == [("ann", 2.0), ("cid", 2.0), ("bob", 3.0)]
    assert await bus.zrange("wins", 0, 0) == [("bob", 3.0)]
    assert await bus.zrange("wins", -2, -1) == [("cid", 2.0), ("ann", 2.0)]
    assert await bus.zrange("missing") == []
    assert await bus.zscore("wins", "bob") == 3.0
    assert await bus.zscore("wins", "zed") is None
    assert await bus.zcard("wins") == 3


async def test_zadd_max_keeps_the_best(bus: Bus) -> None:
    assert await bus.zadd_max("best", "ann", 500)
    assert not await bus.zadd_max("best", "ann", 300)
    assert not await bus.zadd_max("best", "ann", 500)
    assert await bus.zadd_max("best", "ann", 900)
    assert await bus.zadd_max("best", "bob", 100)
    assert await bus.zrange("best") == [("ann", 900.0), ("bob", 100.0)]


async def test_sorted_set_key_expires(backend: Backend) -> None:
    bus = backend.bus
    await bus.zadd_max("daily", "ann", 10)
    assert await bus.expire("daily", TTL)
    await backend.advance(TTL * 1.5)
    assert await bus.zrange("daily") == []


async def test_hashes(bus: Bus) -> None:
    assert await bus.hgetall("h") == {}
    await bus.hset("h", {"name": b"ann", "room": b"r1"})
    await bus.hset("h", {"room": b"r2"})
    assert await bus.hget("h", "room") == b"r2"
    assert await bus.hget("h", "missing") is None
    assert await bus.hincrby("h", "games") == 1
    assert await bus.hincrby("h", "games", 4) == 5
    assert await bus.hgetall("h") == {"name": b"ann", "room": b"r2", "games": b"5"}
    assert await bus.hdel("h", "name", "missing") == 1
    assert await bus.hgetall("h") == {"room": b"r2", "games": b"5"}


async def test_wrong_type_is_an_error(bus: Bus) -> None:
    await bus.hset("h", {"a": b"1"})
    with pytest.raises(TypeError):
        await bus.zincrby("h", "m", 1)
    with pytest.raises(TypeError):
        await bus.get("h")


async def test_capped_list_newest_first(bus: Bus) -> None:
    for i in range(7):
        await bus.list_push("chat", f"line {i}".encode(), cap=5)
    assert await bus.list_range("chat") == [f"line {i}".encode() for i in (6, 5, 4, 3, 2)]
    assert await bus.list_range("chat", 0, 1) == [b"line 6", b"line 5"]
    assert await bus.list_range("empty") == []


async def test_presence_set_many(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    await bus.presence_set("rooms", "old", TTL * 10, b"o")
    await bus.presence_set_many("rooms", {}, TTL)  # nothing to write is fine
    await bus.presence_set_many("rooms", {"r1": b'{"p":1}', "r2": b""}, TTL)
    assert await peer.presence_list("rooms") == {"old": b"o", "r1": b'{"p":1}', "r2": b""}
    await backend.advance(TTL * 0.6)
    await bus.presence_set_many("rooms", {"r1": b"again"}, TTL)  # a refresh with new data
    await backend.advance(TTL * 0.6)
    assert await peer.presence_list("rooms") == {"old": b"o", "r1": b"again"}
    await backend.advance(TTL * 1.2)
    assert await peer.presence_list("rooms") == {"old": b"o"}


async def test_presence_set_many_beyond_one_chunk(bus: Bus) -> None:
    members = {f"m{i}": f"d{i}".encode() for i in range(1234)}
    await bus.presence_set_many("big", members, 60)
    assert await bus.presence_list("big") == members
