"""The interface for what processes share: pub/sub, presence, leases, key/value, sets, streams."""

from __future__ import annotations

import asyncio
import types
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass


class BusUnavailable(RuntimeError):
    """The shared backend cannot be reached right now; the operation did not happen (or may not)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One pub/sub delivery: the channel, the bytes, and the pattern that matched (if any)."""

    channel: str
    data: bytes
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """An exclusive, expiring claim on a key: who holds it and under which epoch."""

    key: str
    owner: str
    epoch: int  # grows by one with every acquisition of this key; a takeover has a higher one


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream record: its id ("<ms>-<seq>", ordered) and its fields."""

    id: str
    fields: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class Pending:
    """A stream record delivered to a group consumer and not yet acknowledged."""

    id: str
    consumer: str
    idle_s: float
    deliveries: int


def as_bytes(data: object) -> bytes:
    """Copy a bytes-like value to immutable bytes; anything else (str, dict...) is a wire bug."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"the bus carries bytes, not {type(data).__name__}")


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order stream ids numerically ("10-0" comes after "9-5")."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Subscription(ABC):
    """Messages from some channels/patterns; live between `__aenter__` and `__aexit__`.

    Use as `async with bus.subscribe("a", "b") as sub: async for message in sub: ...`.
    Subscribed once `__aenter__` returns; unsubscribed when the scope exits.
    """

    async def __aenter__(self) -> Subscription:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            message = await self.get()
            if message is None:
                return
            yield message

    @abstractmethod
    async def open(self) -> None:
        """Subscribe; raises BusUnavailable when the backend is down."""

    @abstractmethod
    async def close(self) -> None:
        """Unsubscribe and wake any reader (it gets None). Safe to call twice."""

    @abstractmethod
    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message; None on timeout or once closed."""


QUEUE_LIMIT = 10_000  # per subscription; beyond it the oldest message is dropped


class QueuedSubscription(Subscription):
    """A subscription fed through a bounded queue; implementations add open() and close()."""

    def __init__(self, channels: tuple[str, ...], patterns: tuple[str, ...]) -> None:
        self.channels = channels
        self.patterns = patterns
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._open = False
        self.dropped = 0

    def deliver(self, message: Message) -> None:
        """Queue a message, dropping the oldest when a slow reader let the queue fill."""
        if self._queue.qsize() >= QUEUE_LIMIT:
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(message)

    def _wake_readers(self) -> None:
        self._queue.put_nowait(None)

    async def get(self, timeout: float | None = None) -> Message | None:
        if not self._open and self._queue.empty():
            return None
        try:
            # not wait_for: on Python 3.11 it swallows a cancellation that arrives as the
            # message does, and the cancelled reader then waits for the next one forever
            async with asyncio.timeout(timeout):
                message = await self._queue.get()
        except TimeoutError:
            return None
        if message is None:
            self._queue.put_nowait(None)  # keep later readers from hanging too
        return message


class Bus(ABC):
    """What processes share. Values are bytes in and bytes out; TTLs are in seconds."""

    # Lifecycle
    @property
    def available(self) -> bool:
        """False while the backend is known to be unreachable (for health checks and metrics)."""
        return True

    @abstractmethod
    async def close(self) -> None:
        """Release connections and background tasks."""

    @abstractmethod
    async def ping(self) -> None:
        """Return when the backend answers; raise BusUnavailable when it does not."""

    # Pub/sub
    @abstractmethod
    async def publish(self, channel: str, data: bytes) -> int:
        """Send to every current subscriber of `channel`.

        Returns how many received it: subscriptions in memory, processes in Redis (each process
        shares one pub/sub connection); 0 means nobody was listening.
        """

    @abstractmethod
    def subscribe(self, *channels: str, patterns: tuple[str, ...] = ()) -> Subscription:
        """A subscription to exact channels and glob patterns; enter it to start receiving."""

    # Key/value
    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(
        self, key: str, value: bytes, ttl: float | None = None, *, only_if_absent: bool = False
    ) -> bool:
        """Store `value`; with `only_if_absent` only when the key does not exist. True if stored."""

    @abstractmethod
    async def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        """Store every key's value (all with the same TTL) in one round trip."""

    @abstractmethod
    async def delete(self, *keys: str) -> int:
        """Remove keys (any type); returns how many existed."""

    @abstractmethod
    async def expire(self, key: str, ttl: float) -> bool:
        """Give an existing key a time to live; False when it does not exist."""

    @abstractmethod
    async def incr(self, key: str, amount: int = 1) -> int: ...

    # Leases
    @abstractmethod
    async def acquire_lease(self, key: str, owner: str, ttl: float) -> Lease | None:
        """Take `key` if nobody holds it; the new lease's epoch is higher than any before it."""

    @abstractmethod
    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        """Extend the lease if it is still held by this owner under this epoch."""

    @abstractmethod
    async def renew_leases(self, leases: Sequence[Lease], ttl: float) -> list[bool]:
        """`renew_lease` for each lease in one round trip; the results in the same order."""

    @abstractmethod
    async def release_lease(self, lease: Lease) -> bool:
        """Give the lease up if it is still held by this owner under this epoch."""

    @abstractmethod
    async def get_lease(self, key: str) -> Lease | None:
        """The live lease on `key`, if any."""

    # Presence
    @abstractmethod
    async def presence_set(self, group: str, member: str, ttl: float, data: bytes = b"") -> None:
        """Mark `member` of `group` alive for `ttl` seconds (call again to refresh)."""

    @abstractmethod
    async def presence_set_many(self, group: str, members: Mapping[str, bytes], ttl: float) -> None:
        """`presence_set` for each member (with its data) in one round trip."""

    @abstractmethod
    async def presence_remove(self, group: str, *members: str) -> None:
        """Remove these members from `group` (absent ones are ignored), in one round trip."""

    @abstractmethod
    async def presence_list(self, group: str) -> dict[str, bytes]:
        """Live members of `group` with their data."""

    # Sorted sets
    @abstractmethod
    async def zincrby(self, key: str, member: str, amount: float) -> float: ...

    @abstractmethod
    async def zadd_max(self, key: str, member: str, score: float) -> bool:
        """Set the member's score only if higher than its current one (or new). True if changed."""

    @abstractmethod
    async def zrange(
        self, key: str, start: int = 0, stop: int = -1, *, desc: bool = True
    ) -> list[tuple[str, float]]:
        """Members with scores by rank (inclusive bounds, negatives count from the end)."""

    @abstractmethod
    async def zscore(self, key: str, member: str) -> float | None: ...

    @abstractmethod
    async def zcard(self, key: str) -> int: ...

    # Hashes
    @abstractmethod
    async def hset(self, key: str, mapping: Mapping[str, bytes]) -> None: ...

    @abstractmethod
    async def hget(self, key: str, field: str) -> bytes | None: ...

    @abstractmethod
    async def hgetall(self, key: str) -> dict[str, bytes]: ...

    @abstractmethod
    async def hincrby(self, key: str, field: str, amount: int = 1) -> int: ...

    @abstractmethod
    async def hdel(self, key: str, *fields: str) -> int: ...

    # Capped lists (newest first)
    @abstractmethod
    async def list_push(self, key: str, value: bytes, cap: int) -> None:
        """Put `value` at the head and keep only the newest `cap` items."""

    @abstractmethod
    async def list_range(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        """Items newest first (inclusive bounds)."""

    # Streams
    @abstractmethod
    async def xadd(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> str:
        """Append a record, keeping about the newest `maxlen`; returns its id."""

    @abstractmethod
    async def xadd_many(
        self, stream: str, records: Sequence[Mapping[str, bytes]], maxlen: int
    ) -> list[str]:
        """Append records in order in one round trip (as `xadd` each); returns their ids."""

    @abstractmethod
    async def xrange(self, stream: str, after: str = "0", count: int = 100) -> list[Entry]:
        """Records with ids greater than `after`, oldest first."""

    @abstractmethod
    async def xlen(self, stream: str) -> int: ...

    @abstractmethod
    async def xgroup_create(self, stream: str, group: str, start: str = "0") -> bool:
        """Create a consumer group reading after `start` ("0": everything; "$": only new).

        Creates the stream if needed. False when the group already exists.
        """

    @abstractmethod
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
        """Deliver new records to `consumer` (or, with `pending`, its unacknowledged ones again).

        `block` waits up to that many seconds for new records when there are none.
        """

    @abstractmethod
    async def xack(self, stream: str, group: str, *ids: str) -> int: ...

    @abstractmethod
    async def fold_and_ack(
        self,
        counts: Mapping[str, Mapping[str, int]],
        maxima: Mapping[str, Mapping[str, float]],
        stream: str,
        group: str,
        ids: Sequence[str],
    ) -> None:
        """Add `counts` (hash key -> field -> amount), raise sorted-set scores to `maxima`
        (key -> member -> score, as `zadd_max`) and acknowledge `ids`, all in one step: a
        consumer that dies can neither lose a batch's totals nor add them twice."""

    @abstractmethod
    async def xpending(self, stream: str, group: str, count: int = 100) -> list[Pending]: ...

    @abstractmethod
    async def xclaim_idle(
        self, stream: str, group: str, consumer: str, min_idle: float, count: int = 100
    ) -> list[Entry]:
        """Move records pending longer than `min_idle` seconds (a dead consumer's) to `consumer`."""
