"""Contract: key/value with TTLs, bytes-only values, and leases with epochs."""

from __future__ import annotations

import pytest

from server.bus import Bus, Lease
from tests.support.backends import Backend

TTL = 0.2
# For renewals: real time passes between them on a busy machine, so longer than TTL.
RENEW_TTL = 1.0


async def test_get_set_delete(bus: Bus) -> None:
    assert await bus.get("k") is None
    assert await bus.set("k", b"v1")
    assert await bus.get("k") == b"v1"
    assert await bus.set("k", b"v2")
    assert await bus.get("k") == b"v2"
    assert await bus.delete("k", "missing") == 1
    assert await bus.get("k") is None


async def test_set_only_if_absent(bus: Bus) -> None:
    assert await bus.set("k", b"first", only_if_absent=True)
    assert not await bus.set("k", b"second", only_if_absent=True)
    assert await bus.get("k") == b"first"


async def test_ttl_expires(backend: Backend) -> None:
    bus = backend.bus
    await bus.set("short", b"x", ttl=TTL)
    await bus.set("forever", b"y")
    await backend.advance(TTL / 4)
    assert await bus.get("short") == b"x"
    await backend.advance(TTL)
    assert await bus.get("short") is None
    assert await bus.get("forever") == b"y"
    # an expired key is absent for set-if-absent too
    assert await bus.set("short", b"again", only_if_absent=True)


async def test_expire_on_existing_key_only(backend: Backend) -> None:
    bus = backend.bus
    assert not await bus.expire("nothing", TTL)
    await bus.set("k", b"v")
    assert await bus.expire("k", TTL)
    await backend.advance(TTL * 1.5)
    assert await bus.get("k") is None


async def test_plain_set_clears_a_ttl(backend: Backend) -> None:
    bus = backend.bus
    await bus.set("k", b"v", ttl=TTL)
    await bus.set("k", b"w")
    await backend.advance(TTL * 1.5)
    assert await bus.get("k") == b"w"


async def test_incr(bus: Bus) -> None:
    assert await bus.incr("n") == 1
    assert await bus.incr("n", 5) == 6
    assert await bus.get("n") == b"6"


async def test_values_are_bytes_and_copied(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    with pytest.raises(TypeError):
        await bus.set("k", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await bus.publish("c", {"a": 1})  # type: ignore[arg-type]
    buffer = bytearray(b"abc")
    await bus.set("k", buffer)  # type: ignore[arg-type]
    buffer[0] = ord("X")  # the stored value must not follow the caller's buffer
    value = await peer.get("k")
    assert value == b"abc"
    assert type(value) is bytes


async def test_lease_acquire_is_exclusive(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    lease = await bus.acquire_lease("room:1:owner", "proc-a", TTL)
    assert lease is not None
    assert lease.owner == "proc-a"
    assert await peer.acquire_lease("room:1:owner", "proc-b", TTL) is None
    assert await peer.get_lease("room:1:owner") == lease


async def test_lease_renew_only_by_owner(backend: Backend) -> None:
    bus = backend.bus
    ttl = RENEW_TTL
    lease = await bus.acquire_lease("L", "proc-a", ttl)
    assert lease is not None
    assert not await bus.renew_lease(Lease("L", "proc-b", lease.epoch), ttl)
    assert not await bus.renew_lease(Lease("L", "proc-a", lease.epoch + 1), ttl)
    # renewing keeps the lease alive past its first expiry
    for _ in range(3):
        await backend.advance(ttl * 0.6)
        assert await bus.renew_lease(lease, ttl)
    assert await bus.get_lease("L") == lease


async def test_lease_release_only_by_owner(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    lease = await bus.acquire_lease("L", "proc-a", TTL * 10)
    assert lease is not None
    assert not await peer.release_lease(Lease("L", "proc-b", lease.epoch))
    assert await peer.get_lease("L") == lease
    assert await bus.release_lease(lease)
    assert await bus.get_lease("L") is None
    assert not await bus.release_lease(lease)  # twice is harmless
    again = await peer.acquire_lease("L", "proc-b", TTL)
    assert again is not None and again.epoch > lease.epoch


async def test_lease_takeover_after_expiry_has_higher_epoch(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    first = await bus.acquire_lease("L", "proc-a", TTL)
    assert first is not None
    await backend.advance(TTL * 1.5)  # the owner died and did not renew
    assert await bus.get_lease("L") is None
    second = await peer.acquire_lease("L", "proc-b", TTL * 10)
    assert second is not None
    assert second.epoch > first.epoch
    # the stale owner can neither renew nor release the new lease
    assert not await bus.renew_lease(first, TTL)
    assert not await bus.release_lease(first)
    assert await peer.get_lease("L") == second
    # even the same owner name re-acquiring gets a new epoch; the old epoch stays stale
    assert await peer.release_lease(second)
    third = await bus.acquire_lease("L", "proc-a", TTL)
    assert third is not None and third.epoch > second.epoch
    assert not await bus.renew_lease(first, TTL)


async def test_set_many_writes_every_key_with_one_ttl(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    await bus.set("old", b"stays")
    await bus.set_many({})  # nothing to write is fine
    await bus.set_many({"a": b"1", "b": bytearray(b"2"), "old": b"replaced"}, ttl=TTL)  # type: ignore[dict-item]
    await bus.set_many({"forever": b"f"})
    assert [await peer.get(k) for k in ("a", "b", "old", "forever")] == [
        b"1",
        b"2",
        b"replaced",
        b"f",
    ]
    await backend.advance(TTL * 1.5)
    assert [await peer.get(k) for k in ("a", "b", "old", "forever")] == [None, None, None, b"f"]
    with pytest.raises(TypeError):
        await bus.set_many({"k": "text"})  # type: ignore[dict-item]


async def test_set_many_beyond_one_batch(bus: Bus) -> None:
    items = {f"k{i}": str(i).encode() for i in range(2500)}
    await bus.set_many(items, ttl=60)
    assert await bus.get("k0") == b"0"
    assert await bus.get("k1999") == b"1999"
    assert await bus.get("k2499") == b"2499"


async def test_renew_leases_renews_only_those_still_held(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    ttl = RENEW_TTL
    await peer.get("warm-up")  # the peer's connection is made before the leases are taken
    held = await bus.acquire_lease("L1", "proc-a", ttl)
    lost = await bus.acquire_lease("L2", "proc-a", ttl)
    kept = await bus.acquire_lease("L3", "proc-a", ttl)
    assert held is not None and lost is not None and kept is not None
    assert await bus.renew_leases([], ttl) == []
    # L2 is taken over by another process (its lease forced away first)
    await bus.delete("L2")
    other = await peer.acquire_lease("L2", "proc-b", ttl * 10)
    assert other is not None
    stranger = Lease("L3", "proc-b", kept.epoch)
    for _ in range(3):
        await backend.advance(ttl * 0.6)
        assert await bus.renew_leases([held, lost, kept, stranger], ttl) == [
            True,
            False,
            True,
            False,
        ]
    # the renewed ones outlived their first expiry; the other owner's lease is untouched
    assert await peer.get_lease("L1") == held
    assert await peer.get_lease("L3") == kept
    assert await peer.get_lease("L2") == other
    await backend.advance(ttl * 1.5)
    assert await peer.get_lease("L1") is None  # no more renewals: it lapses
    assert await bus.renew_leases([held], ttl) == [False]


async def test_renew_leases_beyond_one_batch(bus: Bus) -> None:
    leases = [await bus.acquire_lease(f"L{i}", "proc-a", 60) for i in range(1200)]
    assert all(lease is not None for lease in leases)
    held = [lease for lease in leases if lease is not None]
    await bus.delete("L1100")
    renewed = await bus.renew_leases(held, 60)
    assert len(renewed) == 1200
    assert [i for i, done in enumerate(renewed) if not done] == [1100]
