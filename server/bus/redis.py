"""The Redis bus (REDIS_URL): the same interface across processes, via `redis.asyncio`."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from server.bus import scripts
from server.bus.base import (
    Bus,
    BusUnavailable,
    Entry,
    Lease,
    Pending,
    Subscription,
    as_bytes,
)
from server.bus.health import Health
from server.bus.leases import epoch_key, format_lease, parse_lease
from server.bus.redis_pubsub import LINK_ERRORS, Hub, RedisSubscription

BLOCK_LIMIT_S = 2.0  # longest blocking stream read; well under the socket timeout
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 1.0
POOL_SIZE = 64  # connections per process for commands (pub/sub has its own)
BATCH = 1000  # keys per script call in the batched operations (a call blocks Redis meanwhile)


def _driver_info() -> dict[str, Any]:
    """One description of the client for every connection (CLIENT SETINFO). redis-py 8 made
    each new connection look its own version up in the installed packages' metadata: about
    1 ms, so a burst that fills the pool stalled the loop for 64 of them."""
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # redis-py before 8 looks its version up once, at import
        return {}
    return {"driver_info": DriverInfo()}


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisBus(Bus):
    """One connection pool for commands plus one shared pub/sub connection."""

    def __init__(self, client: aioredis.Redis, name: str = "redis") -> None:
        self._client = client
        self.health = Health(name)
        self._hub = Hub(client, self.health)
        self._acquire = client.register_script(scripts.ACQUIRE)
        self._renew = client.register_script(scripts.RENEW)
        self._release = client.register_script(scripts.RELEASE)
        self._renew_many = client.register_script(scripts.RENEW_MANY)
        self._set_many = client.register_script(scripts.SET_MANY)
        self._presence_set = client.register_script(scripts.PRESENCE_SET)
        self._presence_set_many = client.register_script(scripts.PRESENCE_SET_MANY)
        self._presence_list = client.register_script(scripts.PRESENCE_LIST)
        self._fold_and_ack = client.register_script(scripts.FOLD_AND_ACK)

    @classmethod
    def from_url(cls, url: str) -> RedisBus:
        """Connect lazily to `url`; a failed call raises BusUnavailable instead of hanging."""
        # A burst (a join storm, every room's snapshot at once) may want more connections than
        # the pool holds: callers then wait their turn instead of failing at once, as the
        # default pool does (`Too many connections`), which lost joins under load.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),  # one retry covers a pooled socket that died meanwhile
            decode_responses=False,
            **_driver_info(),
        )
        client = aioredis.Redis(connection_pool=pool)
        parts = urlsplit(url)
        return cls(client, f"redis://{parts.hostname}:{parts.port or 6379}")

    async def _run(self, call: Awaitable[Any]) -> Any:
        try:
            result = await call
        except LINK_ERRORS as exc:
            self.health.failed(exc)
            raise BusUnavailable(f"{self.health.name} unreachable: {exc}") from exc
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("WRONGTYPE"):
                raise TypeError(text) from exc
            if text.startswith("NOGROUP"):
                raise LookupError(text) from exc
            raise
        self.health.succeeded()
        return result

    # Lifecycle
    @property
    def available(self) -> bool:
        return self.health.up

    async def close(self) -> None:
        await self._hub.close()
        await self._client.aclose()

    async def ping(self) -> None:
        await self._run(self._client.ping())

    # Pub/sub
    async def publish(self, channel: str, data: bytes) -> int:
        return int(await self._run(self._client.publish(channel, as_bytes(data))))

    def subscribe(self, *channels: str, patterns: tuple[str, ...] = ()) -> Subscription:
        return RedisSubscription(self._hub, tuple(channels), tuple(patterns))

    @property
    def resubscribes(self) -> int:
        """How many times pub/sub had to reconnect and resubscribe (for tests and metrics)."""
        return self._hub.resubscribes

    # Key/value
    async def get(self, key: str) -> bytes | None:
        value = await self._run(self._client.get(key))
        return None if value is None else bytes(value)

    async def set(
        self, key: str, value: bytes, ttl: float | None = None, *, only_if_absent: bool = False
    ) -> bool:
        px = None if ttl is None else _ms(ttl)
        done = await self._run(self._client.set(key, as_bytes(value), px=px, nx=only_if_absent))
        return bool(done)

    async def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        px = "" if ttl is None else _ms(ttl)
        pairs = [(key, as_bytes(value)) for key, value in items.items()]
        for first in range(0, len(pairs), BATCH):
            chunk = pairs[first : first + BATCH]
            keys = [key for key, _ in chunk]
            await self._run(self._set_many(keys=keys, args=[px, *(v for _, v in chunk)]))

    async def delete(self, *keys: str) -> int:
        return int(await self._run(self._client.delete(*keys))) if keys else 0

    async def expire(self, key: str, ttl: float) -> bool:
        return bool(await self._run(self._client.pexpire(key, _ms(ttl))))

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._run(self._client.incrby(key, amount)))

    # Leases
    async def acquire_lease(self, key: str, owner: str, ttl: float) -> Lease | None:
        epoch = await self._run(self._acquire(keys=[key, epoch_key(key)], args=[owner, _ms(ttl)]))
        return None if epoch is None else Lease(key, owner, int(epoch))

    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        value = format_lease(lease.epoch, lease.owner)
        return bool(await self._run(self._renew(keys=[lease.key], args=[value, _ms(ttl)])))

    async def renew_leases(self, leases: Sequence[Lease], ttl: float) -> list[bool]:
        renewed: list[bool] = []
        for first in range(0, len(leases), BATCH):
            chunk = leases[first : first + BATCH]
            keys = [lease.key for lease in chunk]
            values = [format_lease(lease.epoch, lease.owner) for lease in chunk]
            reply = await self._run(self._renew_many(keys=keys, args=[_ms(ttl), *values]))
            renewed += [bool(done) for done in reply]
        return renewed

    async def release_lease(self, lease: Lease) -> bool:
        value = format_lease(lease.epoch, lease.owner)
        return bool(await self._run(self._release(keys=[lease.key], args=[value])))

    async def get_lease(self, key: str) -> Lease | None:
        raw = await self.get(key)
        return None if raw is None else parse_lease(key, raw)

    # Presence: a sorted set of deadlines (Redis time) plus a hash of member data
    async def presence_set(self, group: str, member: str, ttl: float, data: bytes = b"") -> None:
        keys = [group, f"{group}:data"]
        await self._run(self._presence_set(keys=keys, args=[member, _ms(ttl), as_bytes(data)]))

    async def presence_set_many(self, group: str, members: Mapping[str, bytes], ttl: float) -> None:
        pairs = [(member, as_bytes(data)) for member, data in members.items()]
        keys = [group, f"{group}:data"]
        for first in range(0, len(pairs), BATCH):
            args: list[Any] = [_ms(ttl)]
            for member, data in pairs[first : first + BATCH]:
                args += (member, data)
            await self._run(self._presence_set_many(keys=keys, args=args))

    async def presence_remove(self, group: str, *members: str) -> None:
        for first in range(0, len(members), BATCH):
            chunk = members[first : first + BATCH]
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zrem(group, *chunk)
                pipe.hdel(f"{group}:data", *chunk)
                await self._run(pipe.execute())

    async def presence_list(self, group: str) -> dict[str, bytes]:
        flat = await self._run(self._presence_list(keys=[group, f"{group}:data"], args=[]))
        return {_text(flat[i]): bytes(flat[i + 1]) for i in range(0, len(flat), 2)}

    # Sorted sets
    async def zincrby(self, key: str, member: str, amount: float) -> float:
        return float(await self._run(self._client.zincrby(key, amount, member)))

    async def zadd_max(self, key: str, member: str, score: float) -> bool:
        return bool(await self._run(self._client.zadd(key, {member: score}, gt=True, ch=True)))

    async def zrange(
        self, key: str, start: int = 0, stop: int = -1, *, desc: bool = True
    ) -> list[tuple[str, float]]:
        rows = await self._run(self._client.zrange(key, start, stop, desc=desc, withscores=True))
        return [(_text(member), float(score)) for member, score in rows]

    async def zscore(self, key: str, member: str) -> float | None:
        score = await self._run(self._client.zscore(key, member))
        return None if score is None else float(score)

    async def zcard(self, key: str) -> int:
        return int(await self._run(self._client.zcard(key)))

    # Hashes
    async def hset(self, key: str, mapping: Mapping[str, bytes]) -> None:
        if mapping:
            values: dict[Any, Any] = {name: as_bytes(value) for name, value in mapping.items()}
            await self._run(self._client.hset(key, mapping=values))

    async def hget(self, key: str, field: str) -> bytes | None:
        value = await self._run(self._client.hget(key, field))
        return None if value is None else bytes(value)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        raw = await self._run(self._client.hgetall(key))
        return {_text(name): bytes(value) for name, value in raw.items()}

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return int(await self._run(self._client.hincrby(key, field, amount)))

    async def hdel(self, key: str, *fields: str) -> int:
        if not fields:
            return 0
        return int(await self._run(self._client.hdel(key, *fields)))

    # Capped lists
    async def list_push(self, key: str, value: bytes, cap: int) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.lpush(key, as_bytes(value))
            pipe.ltrim(key, 0, cap - 1)
            await self._run(pipe.execute())

    async def list_range(self, key: str, start: int = 0, stop: int = -1) -> list[bytes]:
        items = await self._run(self._client.lrange(key, start, stop))
        return [bytes(item) for item in items]

    # Streams
    async def xadd(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> str:
        values: dict[Any, Any] = {name: as_bytes(value) for name, value in fields.items()}
        entry_id = await self._run(
            self._client.xadd(stream, values, maxlen=maxlen, approximate=False)
        )
        return _text(entry_id)

    async def xadd_many(
        self, stream: str, records: Sequence[Mapping[str, bytes]], maxlen: int
    ) -> list[str]:
        ids: list[str] = []
        for first in range(0, len(records), BATCH):
            # A pipeline, not a transaction: the appends need no isolation, only one round trip.
            async with self._client.pipeline(transaction=False) as pipe:
                for fields in records[first : first + BATCH]:
                    values: dict[Any, Any] = {k: as_bytes(v) for k, v in fields.items()}
                    pipe.xadd(stream, values, maxlen=maxlen, approximate=False)
                ids += [_text(entry_id) for entry_id in await self._run(pipe.execute())]
        return ids

    async def xrange(self, stream: str, after: str = "0", count: int = 100) -> list[Entry]:
        rows = await self._run(self._client.xrange(stream, min=f"({after}", max="+", count=count))
        return _entries(rows)

    async def xlen(self, stream: str) -> int:
        return int(await self._run(self._client.xlen(stream)))

    async def xgroup_create(self, stream: str, group: str, start: str = "0") -> bool:
        try:
            await self._run(self._client.xgroup_create(stream, group, id=start, mkstream=True))
        except ResponseError as exc:
            if str(exc).startswith("BUSYGROUP"):
                return False
            raise
        return True

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
        wait = None if pending or not block else _ms(min(block, BLOCK_LIMIT_S))
        reply = await self._run(
            self._client.xreadgroup(
                group, consumer, {stream: "0" if pending else ">"}, count=count, block=wait
            )
        )
        rows: list[Any] = []
        if isinstance(reply, dict):  # RESP3
            for value in reply.values():
                rows.extend(value[0] if value and isinstance(value[0], list) else value)
        else:
            for _, stream_rows in reply or []:
                rows.extend(stream_rows)
        # a record delivered once and trimmed since comes back without fields (XADD needs at
        # least one): nothing is left to process, so acknowledge it
        trimmed = [_text(entry_id) for entry_id, fields in rows if not fields]
        if trimmed:
            await self.xack(stream, group, *trimmed)
        return _entries([row for row in rows if row[1]])

    async def xack(self, stream: str, group: str, *ids: str) -> int:
        return int(await self._run(self._client.xack(stream, group, *ids))) if ids else 0

    async def fold_and_ack(
        self,
        counts: Mapping[str, Mapping[str, int]],
        maxima: Mapping[str, Mapping[str, float]],
        stream: str,
        group: str,
        ids: Sequence[str],
    ) -> None:
        keys = [stream, *counts, *maxima]
        args: list[Any] = [group, len(counts)]
        for fields in counts.values():
            args.append(len(fields))
            for field, amount in fields.items():
                args += (field, amount)
        args.append(len(maxima))
        for members in maxima.values():
            args.append(len(members))
            for member, score in members.items():
                args += (member, score)
        await self._run(self._fold_and_ack(keys=keys, args=[*args, *ids]))

    async def xpending(self, stream: str, group: str, count: int = 100) -> list[Pending]:
        rows = await self._run(
            self._client.xpending_range(stream, group, min="-", max="+", count=count)
        )
        return [
            Pending(
                _text(row["message_id"]),
                _text(row["consumer"]),
                int(row["time_since_delivered"]) / 1000,
                int(row["times_delivered"]),
            )
            for row in rows
        ]

    async def xclaim_idle(
        self, stream: str, group: str, consumer: str, min_idle: float, count: int = 100
    ) -> list[Entry]:
        reply = await self._run(
            self._client.xautoclaim(
                stream, group, consumer, _ms(min_idle), start_id="0-0", count=count
            )
        )
        return _entries([row for row in reply[1] if row and row[1]])


def _entries(rows: list[Any]) -> list[Entry]:
    return [
        Entry(_text(entry_id), {_text(k): bytes(v) for k, v in fields.items()})
        for entry_id, fields in rows
    ]
