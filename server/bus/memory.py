"""The in-process bus: one process, no Redis, same semantics (bytes only, real TTLs)."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from server.bus.base import (
    Bus,
    Entry,
    Lease,
    Message,
    Pending,
    QueuedSubscription,
    Subscription,
    as_bytes,
)
from server.bus.leases import epoch_key, format_lease, parse_lease
from server.bus.memory_streams import MemoryStream

log = logging.getLogger(__name__)

Clock = Callable[[], float]
T = TypeVar("T")


class MemorySubscription(QueuedSubscription):
    """Messages delivered from a MemoryBus through a bounded queue."""

    def __init__(self, bus: MemoryBus, channels: tuple[str, ...], patterns: tuple[str, ...]):
        super().__init__(channels, patterns)
        self._bus = bus

    async def open(self) -> None:
        self._open = True
        self._bus._subscriptions.add(self)

    async def close(self) -> None:
        if self._open:
            self._open = False
            self._bus._subscriptions.discard(self)
            self._wake_readers()

    def _match(self, channel: str) -> str | bool | None:
        if channel in self.channels:
            return None
        for pattern in self.patterns:
            if fnmatch.fnmatchcase(channel, pattern):
                return pattern
        return False


class MemoryBus(Bus):
    """Everything in dicts, expiring against an injectable clock (seconds, monotonic)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, object] = {}
        self._expires: dict[str, float] = {}
        self._presence: dict[str, dict[str, tuple[float, bytes]]] = {}
        self._subscriptions: set[MemorySubscription] = set()
        self._stream_waiters: dict[str, list[asyncio.Future[None]]] = {}

    # Helpers
    def _live(self, key: str) -> object | None:
        deadline = self._expires.get(key)
        if deadline is not None and self._clock() >= deadline:
            self._data.pop(key, None)
            self._expires.pop(key, None)
        return self._data.get(key)

    def _typed(self, key: str, kind: type[T], create: Callable[[], T] | None = None) -> T | None:
        value = self._live(key)
        if value is None:
            if create is None:
                return None
            value = self._data[key] = create()
        if not isinstance(value, kind):
            raise TypeError(f"key {key!r} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def _put(self, key: str, value: object, ttl: float | None) -> None:
        self._data[key] = value
        if ttl is None:
            self._expires.pop(key, None)
        else:
            self._expires[key] = self._clock() + ttl

    # Lifecycle
    async def close(self) -> None:
        for sub in list(self._subscriptions):
            await sub.close()

    async def ping(self) -> None:
        return None

    # Pub/sub
    async def publish(self, channel: str, data: bytes) -> int:
        payload = as_bytes(data)
        count = 0
        for sub in list(self._subscriptions):
            match = sub._match(channel)
            if match is not False:
                sub.deliver(Message(channel, payload, match if isinstance(match, str) else None))
                count += 1
        return count

    def subscribe(self, *channels: str, patterns: tuple[str, ...] = ()) -> Subscription:
        return MemorySubscription(self, tuple(channels), tuple(patterns))

    # Key/value
    async def get(self, key: str) -> bytes | None:
        return self._typed(key, bytes)

    async def set(
        self, key: str, value: bytes, ttl: float | None = None, *, only_if_absent: bool = False
    ) -> bool:
        payload = as_bytes(value)
        if only_if_absent and self._live(key) is not None:
            return False
        self._put(key, payload, ttl)
        return True

    async def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        payloads = {key: as_bytes(value) for key, value in items.items()}
        for key, payload in payloads.items():
            self._put(key, payload, ttl)

    async def delete(self, *keys: str) -> int:
        count = 0
        for key in keys:
            if self._live(key) is not None:
                count += 1
            self._data.pop(key, None)
            self._expires.pop(key, None)
            if self._presence.pop(key, None):
                count += 1
        return count

    async def expire(self, key: str, ttl: float) -> bool:
        if self._live(key) is None:
            return False
        self._expires[key] = self._clock() + ttl
        return True

    async def incr(self, key: str, amount: int = 1) -> int:
        value = int(self._typed(key, bytes) or b"0") + amount
        self._data[key] = str(value).encode()
        return value

    # Leases
    async def acquire_lease(self, key: str, owner: str, ttl: float) -> Lease | None:
        if self._live(key) is not None:
            return None
        epoch = await self.incr(epoch_key(key))
        self._put(key, format_lease(epoch, owner), ttl)
        return Lease(key, owner, epoch)

    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        if await self.get_lease(lease.key) != lease:
            return False
        self._expires[lease.key] = self._clock() + ttl
        return True

    async def renew_leases(self, leases: Sequence[Lease], ttl: float) -> list[bool]:
        return [await self.renew_lease(lease, ttl) for lease in leases]

    async def release_lease(self, lease: Lease) -> bool:
        if await self.get_lease(lease.key) != lease:
            return False
        await self.delete(lease.key)
        return True

    async def get_lease(self, key: str) -> Lease | None:
        raw = self._typed(key, bytes)
        return None if raw is None else parse_lease(key, raw)

    # Presence
    def _members(self, group: str) -> dict[str, tuple[float, bytes]]:
        members = self._presence.setdefault(group, {})
        now = self._clock()
        for member in [m for m, (deadline, _) in members.items() if deadline <= now]:
            del members[member]
        return members

    async def presence_set(self, group: str, member: str, ttl: float, data: bytes = b"") -> None:
        self._members(group)[member] = (self._clock() + ttl, as_bytes(data))

    async def presence_set_many(self, group: str, members: Mapping[str, bytes], ttl: float) -> None:
        payloads = {member: as_bytes(data) for member, data in members.items()}
        live = self._members(group)
        deadline = self._clock() + ttl
        for member, payload in payloads.items():
            live[member] = (deadline, payload)

    async def presence_remove(self, group: str, *members: str) -> None:
        live = self._members(group)
        for member in members:
            live.pop(member, None)

    async def presence_list(self, group: str) -> dict[str, bytes]:
        return {member: data for member, (_, data) in self._members(group).items()}

    # Sorted sets
    def _zset(self, key: str) -> _ZSet:
        zset = self._typed(key, _ZSet, _ZSet)
        assert zset is not None
        return zset

    async def zincrby(self, key: str, member: str, amount: float) -> float:
        zset = self._zset(key)
        zset[member] = float(zset.get(member, 0.0) + amount)
        return zset[member]

    async def zadd_max(self, key: str, member: str, score: float) -> bool:
        return self._raise(key, member, score)

    def _raise(self, key: str, member: str, score: float) -> bool:
        zset = self._zset(key)
        if member in zset and zset[member] >= score:
            return False
        zset[member] = float(score)
        return True

    async def zrange(
        self, key: str, start: int = 0, stop: int = -1, *, desc: bool = True
    ) -> list[tuple[str, float]]:
        zset: dict[str, float] = self._typed(key, _ZSet) or {}
        ordered = sorted(zset.items(), key=lambda item: (item[1], item[0]), reverse=desc)
        return _slice(ordered, start, stop)

    async def zscore(self, key: str, member: str) -> float | None:
        zset: dict[str, float] = self._typed(key, _ZSet) or {}
        return zset.get(member)

    async def zcard(self, key: str) -> int:
        return len(self._typed(key, _ZSet) or {})

    # Hashes
    def _hash(self, key: str, create: bool = False) -> _Hash | None:
        return self._typed(key, _Hash, _Hash if create else None)

    async def hset(self, key: str, mapping: Mapping[str, bytes]) -> None:
        values = {name: as_bytes(value) for name, value in mapping.items()}
        hash_ = self._hash(key, create=True)
        assert hash_ is not None
        hash_.update(values)

    async def hget(self, key: str, field: str) -> bytes | None:
        hash_ = self._hash(key)
        return None if hash_ is None else hash_.get(field)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        return dict(self._hash(key) or {})

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return self._incr(key, field, amount)

    def _incr(self, key: str, field: str, amount: int) -> int:
        hash_ = self._hash(key, create=True)
        assert hash_ is not None
        value = int(hash_.get(field, b"0")) + amount
        hash_[field] = str(value).encode()
        return value

    async def hdel(self, key: str, *fields: str) -> int:
        hash_ = self._hash(key)
        if hash_ is None:
            return 0
        count = sum(1 for name in fields if hash_.pop(name, None) is not None)
        if not hash_:
            await self.delete(key)
        return count

    # Capped lists
    async def list_push(self, key: str, value: bytes, cap: int) -> None:
        items = self._typed(key, list, list)
        assert items is not None
        items.insert(0, as_bytes(value))
        del items[cap:]

    async def list_range(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        return _slice(list(self._typed(key, list) or []), start, stop)

    # Streams
    def _stream(self, key: str, create: bool = False) -> MemoryStream | None:
        return self._typed(key, MemoryStream, MemoryStream if create else None)

    async def xadd(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> str:
        values = {name: as_bytes(value) for name, value in fields.items()}
        state = self._stream(stream, create=True)
        assert state is not None
        entry_id = state.append(values, int(self._clock() * 1000), maxlen)
        for waiter in self._stream_waiters.pop(stream, []):
            if not waiter.done():
                waiter.set_result(None)
        return entry_id

    async def xadd_many(
        self, stream: str, records: Sequence[Mapping[str, bytes]], maxlen: int
    ) -> list[str]:
        # Every record checked before any is stored, as the Redis pipeline is built first.
        checked = [{name: as_bytes(value) for name, value in r.items()} for r in records]
        return [await self.xadd(stream, values, maxlen) for values in checked]

    async def xrange(self, stream: str, after: str = "0", count: int = 100) -> list[Entry]:
        state = self._stream(stream)
        return [] if state is None else state.after(after, count)

    async def xlen(self, stream: str) -> int:
        state = self._stream(stream)
        return 0 if state is None else len(state.entries)

    async def xgroup_create(self, stream: str, group: str, start: str = "0") -> bool:
        state = self._stream(stream, create=True)
        assert state is not None
        return state.create_group(group, start)

    def _state(self, stream: str, group: str) -> MemoryStream:
        state = self._stream(stream)
        if state is None:
            raise LookupError(f"NOGROUP no stream {stream!r}")
        state.group(group, stream)
        return state

    async def xreadgroup(
        self,
        stream: str,
        group: str,
        consumer: str,
        count: int = 100,
        block: float | None = None,
        *,
        pending: bool = False,
    ) -> list[Entry]:
        state = self._state(stream, group)
        grp = state.group(group, stream)
        if pending:
            return state.deliver_pending(grp, consumer, count, self._clock())
        found = state.deliver_new(grp, consumer, count, self._clock())
        if not found and block:
            waiter = asyncio.get_running_loop().create_future()
            self._stream_waiters.setdefault(stream, []).append(waiter)
            try:
                async with asyncio.timeout(block):  # not wait_for: see QueuedSubscription.get
                    await waiter
            except TimeoutError:
                return []
            found = state.deliver_new(grp, consumer, count, self._clock())
        return found

    async def xack(self, stream: str, group: str, *ids: str) -> int:
        return MemoryStream.ack(self._state(stream, group).group(group, stream), ids)

    async def fold_and_ack(
        self,
        counts: Mapping[str, Mapping[str, int]],
        maxima: Mapping[str, Mapping[str, float]],
        stream: str,
        group: str,
        ids: Sequence[str],
    ) -> None:
        # No await in here: nothing else runs between the changes.
        grp = self._state(stream, group).group(group, stream)  # raises before any change
        for key, fields in counts.items():
            for field, amount in fields.items():
                self._incr(key, field, amount)
        for key, members in maxima.items():
            for member, score in members.items():
                self._raise(key, member, score)
        MemoryStream.ack(grp, tuple(ids))

    async def xpending(self, stream: str, group: str, count: int = 100) -> list[Pending]:
        grp = self._state(stream, group).group(group, stream)
        return MemoryStream.pending(grp, count, self._clock())

    async def xclaim_idle(
        self, stream: str, group: str, consumer: str, min_idle: float, count: int = 100
    ) -> list[Entry]:
        state = self._state(stream, group)
        grp = state.group(group, stream)
        return state.claim_idle(grp, consumer, min_idle, count, self._clock())


class _Hash(dict[str, bytes]):
    """A hash value (its own type, so a hash is never mistaken for a sorted set)."""


class _ZSet(dict[str, float]):
    """A sorted set value: member -> score."""


def _slice(items: list[T], start: int, stop: int) -> list[T]:
    size = len(items)
    start = max(0, start + size if start < 0 else start)
    stop = stop + size if stop < 0 else stop
    return items[start : stop + 1]
