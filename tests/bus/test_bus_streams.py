"""Contract: capped streams, plain reads, consumer groups with at-least-once delivery."""

from __future__ import annotations

import asyncio

import pytest

from server.bus import Bus, MemoryBus
from tests.support.backends import Backend


async def _fill(bus: Bus, n: int, stream: str = "events", maxlen: int = 1000) -> list[str]:
    return [await bus.xadd(stream, {"n": str(i).encode()}, maxlen) for i in range(n)]


def _numbers(entries: list) -> list[int]:  # type: ignore[type-arg]
    return [int(e.fields["n"]) for e in entries]


async def test_append_and_read_in_order(bus: Bus) -> None:
    ids = await _fill(bus, 5)
    assert len(set(ids)) == 5
    entries = await bus.xrange("events")
    assert [e.id for e in entries] == ids
    assert _numbers(entries) == [0, 1, 2, 3, 4]
    assert _numbers(await bus.xrange("events", after=ids[1], count=2)) == [2, 3]
    assert await bus.xrange("events", after=ids[-1]) == []
    assert await bus.xrange("nothing") == []
    assert await bus.xlen("events") == 5


async def test_stream_is_capped(bus: Bus) -> None:
    await _fill(bus, 12, maxlen=5)
    assert await bus.xlen("events") == 5
    assert _numbers(await bus.xrange("events")) == [7, 8, 9, 10, 11]


async def test_append_many_in_order_in_one_call(bus: Bus) -> None:
    await _fill(bus, 2)
    ids = await bus.xadd_many("events", [{"n": str(i).encode()} for i in range(2, 9)], 5)
    assert len(ids) == 7 and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    entries = await bus.xrange("events")
    assert _numbers(entries) == [4, 5, 6, 7, 8]  # capped as each append would
    assert [e.id for e in entries] == ids[-5:]
    assert await bus.xadd_many("events", [], 5) == []
    with pytest.raises(TypeError):
        await bus.xadd_many("events", [{"n": b"9"}, {"n": "text"}], 5)  # type: ignore[dict-item]
    assert _numbers(await bus.xrange("events")) == [4, 5, 6, 7, 8]  # nothing stored


async def test_fields_are_bytes(bus: Bus) -> None:
    await bus.xadd("events", {"kind": b"death", "ghost": b"\x00\xff"}, 10)
    (entry,) = await bus.xrange("events")
    assert entry.fields == {"kind": b"death", "ghost": b"\x00\xff"}
    with pytest.raises(TypeError):
        await bus.xadd("events", {"kind": "text"}, 10)  # type: ignore[dict-item]


async def test_group_created_once_and_reads_from_start(bus: Bus) -> None:
    await _fill(bus, 3)
    assert await bus.xgroup_create("events", "g")
    assert not await bus.xgroup_create("events", "g")
    assert _numbers(await bus.xreadgroup("events", "g", "c1", count=2)) == [0, 1]
    assert _numbers(await bus.xreadgroup("events", "g", "c1")) == [2]
    assert await bus.xreadgroup("events", "g", "c1") == []


async def test_group_from_now_skips_history(bus: Bus) -> None:
    await _fill(bus, 3)
    assert await bus.xgroup_create("events", "live", start="$")
    await bus.xadd("events", {"n": b"99"}, 100)
    assert _numbers(await bus.xreadgroup("events", "live", "c")) == [99]


async def test_group_on_missing_stream_creates_it(bus: Bus) -> None:
    assert await bus.xgroup_create("fresh", "g")
    assert await bus.xreadgroup("fresh", "g", "c") == []
    with pytest.raises(LookupError):
        await bus.xreadgroup("fresh", "no-such-group", "c")


async def test_at_least_once_until_acked(backend: Backend) -> None:
    bus = backend.bus
    await bus.xgroup_create("events", "g")
    ids = await _fill(bus, 4)
    got = await bus.xreadgroup("events", "g", "worker")
    assert _numbers(got) == [0, 1, 2, 3]
    assert await bus.xack("events", "g", ids[0], ids[1]) == 2
    assert await bus.xack("events", "g", ids[0]) == 0  # acking twice counts once

    # the worker "crashes" and restarts under the same name: unacked records come back first
    restarted = backend.peer()
    again = await restarted.xreadgroup("events", "g", "worker", pending=True)
    assert _numbers(again) == [2, 3]
    pending = await restarted.xpending("events", "g")
    assert [(p.id, p.consumer) for p in pending] == [(ids[2], "worker"), (ids[3], "worker")]
    assert await restarted.xack("events", "g", *ids[2:]) == 2
    assert await restarted.xreadgroup("events", "g", "worker", pending=True) == []
    assert await restarted.xpending("events", "g") == []
    # and new records continue where the group left off
    await restarted.xadd("events", {"n": b"4"}, 100)
    assert _numbers(await restarted.xreadgroup("events", "g", "worker")) == [4]


async def test_totals_and_acknowledgement_in_one_step(backend: Backend) -> None:
    bus = backend.bus
    await bus.xgroup_create("events", "g")
    ids = await _fill(bus, 1500, maxlen=2000)  # more ids than one XACK chunk of the script
    assert len(await bus.xreadgroup("events", "g", "worker", count=2000)) == 1500
    await bus.zadd_max("best", "ann", 50)
    counts = {"sums": {"events": 1500, "scores": 2}, "kinds": {"death": 3}}
    maxima = {"best": {"ann": 40.0, "bob": 70.0}}  # ann keeps 50: only ever raised
    await bus.fold_and_ack(counts, maxima, "events", "g", ids[:1499])
    assert await bus.hgetall("sums") == {"events": b"1500", "scores": b"2"}
    assert await bus.hgetall("kinds") == {"death": b"3"}
    assert await bus.zrange("best") == [("bob", 70.0), ("ann", 50.0)]
    assert [p.id for p in await bus.xpending("events", "g")] == [ids[1499]]
    await bus.fold_and_ack({"sums": {"events": 1}}, {}, "events", "g", ids[1499:])
    assert await bus.hgetall("sums") == {"events": b"1501", "scores": b"2"}
    assert await bus.xpending("events", "g") == []
    await bus.fold_and_ack({}, {}, "events", "g", [])  # nothing: nothing happens


async def test_claim_records_of_a_dead_consumer(backend: Backend) -> None:
    bus = backend.bus
    await bus.xgroup_create("events", "g")
    ids = await _fill(bus, 3)
    await bus.xreadgroup("events", "g", "dead")
    await bus.xack("events", "g", ids[0])
    assert await bus.xclaim_idle("events", "g", "alive", min_idle=0.2) == []  # not idle yet
    await backend.advance(0.3)
    claimed = await bus.xclaim_idle("events", "g", "alive", min_idle=0.2)
    assert _numbers(claimed) == [1, 2]
    pending = await bus.xpending("events", "g")
    assert {p.consumer for p in pending} == {"alive"}
    assert all(p.deliveries == 2 for p in pending)


async def test_blocking_group_read_wakes_on_append(bus: Bus) -> None:
    await bus.xgroup_create("events", "g")
    reader = asyncio.create_task(bus.xreadgroup("events", "g", "c", block=1.5))
    await asyncio.sleep(0.05)
    assert not reader.done()
    await bus.xadd("events", {"n": b"7"}, 10)
    assert _numbers(await asyncio.wait_for(reader, 2)) == [7]


async def test_blocking_group_read_times_out_empty(bus: Bus) -> None:
    await bus.xgroup_create("events", "g")
    assert await bus.xreadgroup("events", "g", "c", block=0.05) == []


async def test_pending_records_trimmed_away_are_dropped(bus: Bus) -> None:
    await bus.xgroup_create("events", "g")
    ids = await _fill(bus, 3, maxlen=3)
    assert len(await bus.xreadgroup("events", "g", "worker")) == 3
    await bus.xadd("events", {"n": b"3"}, 2)  # trims records 0 and 1 while still pending
    again = await bus.xreadgroup("events", "g", "worker", pending=True)
    assert _numbers(again) == [2]
    assert [p.id for p in await bus.xpending("events", "g")] == [ids[2]]


async def test_memory_blocked_read_cancelled_as_a_record_arrives_is_cancelled() -> None:
    bus = MemoryBus()
    await bus.xgroup_create("events", "g", "$")
    reader = asyncio.create_task(bus.xreadgroup("events", "g", "c1", block=5))
    await asyncio.sleep(0.01)
    await bus.xadd("events", {"k": b"v"}, 100)  # wakes the reader...
    reader.cancel()  # ... which is cancelled in the same turn
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert [e.fields for e in await bus.xreadgroup("events", "g", "c1")] == [{"k": b"v"}]
