"""Redis pub/sub: one connection per process for every subscription, resubscribed after outages."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bus.base import BusUnavailable, Message, QueuedSubscription
from server.bus.health import Health, log

CONFIRM_TIMEOUT_S = 5.0
RETRY_MAX_S = 1.0
LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisSubscription(QueuedSubscription):
    """Messages for some channels/patterns, fed by the process's shared pub/sub connection."""

    def __init__(self, hub: Hub, channels: tuple[str, ...], patterns: tuple[str, ...]):
        super().__init__(channels, patterns)
        self._hub = hub

    async def open(self) -> None:
        await self._hub.add(self)
        self._open = True
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # redis-py can swallow a cancellation that arrives while it subscribes: the caller
            # was told to stop, so stop, rather than read a subscription nobody will close
            await self.close()
            raise asyncio.CancelledError

    async def close(self) -> None:
        if self._open:
            self._open = False
            self._wake_readers()
            await self._hub.remove(self)


class Hub:
    """Counts who wants which channel, keeps one PubSub subscribed to exactly those, dispatches."""

    def __init__(self, client: aioredis.Redis, health: Health) -> None:
        self._client = client
        self._health = health
        self._channels: dict[str, set[RedisSubscription]] = {}
        self._patterns: dict[str, set[RedisSubscription]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._confirm: dict[tuple[str, str], list[asyncio.Future[None]]] = {}
        self.resubscribes = 0

    async def add(self, sub: RedisSubscription) -> None:
        """Subscribe `sub`; returns once Redis confirmed every new channel and pattern."""
        async with self._lock:
            new_channels = [c for c in dict.fromkeys(sub.channels) if c not in self._channels]
            new_patterns = [p for p in dict.fromkeys(sub.patterns) if p not in self._patterns]
            waits = [("subscribe", c) for c in new_channels]
            waits += [("psubscribe", p) for p in new_patterns]
            # names another subscriber is still waiting on: wait for their confirmation too
            waits += [w for w in _names(sub) if w in self._confirm and w not in waits]
            loop = asyncio.get_running_loop()
            futures = [loop.create_future() for _ in waits]
            for wait, future in zip(waits, futures, strict=True):
                self._confirm.setdefault(wait, []).append(future)
            try:
                pubsub = await self._connected()
                if new_channels:
                    await pubsub.subscribe(*new_channels)
                if new_patterns:
                    await pubsub.psubscribe(*new_patterns)
            except LINK_ERRORS as exc:
                self._health.failed(exc)
                self._forget(waits, futures)
                raise BusUnavailable(f"cannot subscribe: {exc}") from exc
            for channel in sub.channels:
                self._channels.setdefault(channel, set()).add(sub)
            for pattern in sub.patterns:
                self._patterns.setdefault(pattern, set()).add(sub)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="bus-pubsub-reader")
        try:
            if futures:
                # not wait_for: on Python 3.11 it swallows a cancellation that arrives with the
                # confirmation, and a listener cancelled while subscribing (a process closing)
                # then reads its subscription forever
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    await asyncio.gather(*futures)
        except (TimeoutError, BusUnavailable) as exc:
            await self.remove(sub)
            raise BusUnavailable(f"subscription not confirmed: {exc}") from exc

    def _forget(self, waits: list[tuple[str, str]], futures: list[asyncio.Future[None]]) -> None:
        for wait, future in zip(waits, futures, strict=True):
            pending = self._confirm.get(wait, [])
            if future in pending:
                pending.remove(future)
            if not pending:
                self._confirm.pop(wait, None)

    async def remove(self, sub: RedisSubscription) -> None:
        """Unsubscribe `sub`; channels nobody wants any more are unsubscribed in Redis."""
        async with self._lock:
            gone_channels = _drop(self._channels, sub, sub.channels)
            gone_patterns = _drop(self._patterns, sub, sub.patterns)
            if not self._channels and not self._patterns:
                await self._shutdown()
                return
            pubsub = self._pubsub
            if pubsub is None:
                return
            with contextlib.suppress(*LINK_ERRORS):  # the reader notices outages itself
                if gone_channels:
                    await pubsub.unsubscribe(*gone_channels)
                if gone_patterns:
                    await pubsub.punsubscribe(*gone_patterns)

    async def close(self) -> None:
        async with self._lock:
            subs = {
                s for group in (*self._channels.values(), *self._patterns.values()) for s in group
            }
            self._channels.clear()
            self._patterns.clear()
            await self._shutdown()
        for sub in subs:
            sub._open = False
            sub._queue.put_nowait(None)

    async def _shutdown(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self._discard_pubsub()

    async def _discard_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _connected(self) -> PubSub:
        """The live PubSub, (re)created and resubscribed to everything wanted if needed."""
        if self._pubsub is None:
            pubsub = self._client.pubsub()
            try:
                if self._channels:
                    await pubsub.subscribe(*self._channels)
                if self._patterns:
                    await pubsub.psubscribe(*self._patterns)
                if not self._channels and not self._patterns:
                    await pubsub.connect()  # type: ignore[no-untyped-call]
            except BaseException:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            self._pubsub = pubsub
        return self._pubsub

    async def _read(self) -> None:
        delay = 0.05
        while True:
            try:
                async with self._lock:
                    reconnecting = self._pubsub is None
                    pubsub = await self._connected()
                if reconnecting:
                    self.resubscribes += 1
                    self._health.succeeded()
                    log.info("pub/sub resubscribed to %d channels", len(self._channels))
                message = await pubsub.get_message(timeout=1.0)
            except LINK_ERRORS as exc:
                self._health.failed(exc)
                self._fail_confirmations(exc)
                async with self._lock:
                    await self._discard_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = 0.05
            if message is not None:
                self._dispatch(message)

    def _fail_confirmations(self, exc: BaseException) -> None:
        for futures in self._confirm.values():
            for future in futures:
                if not future.done():
                    future.set_exception(BusUnavailable(str(exc)))
        self._confirm.clear()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in ("subscribe", "psubscribe"):
            name = _text(message["channel"])
            for future in self._confirm.pop((kind, name), []):
                if not future.done():
                    future.set_result(None)
        elif kind == "message":
            channel = _text(message["channel"])
            for sub in list(self._channels.get(channel, ())):
                sub.deliver(Message(channel, bytes(message["data"])))
        elif kind == "pmessage":
            channel, pattern = _text(message["channel"]), _text(message["pattern"])
            for sub in list(self._patterns.get(pattern, ())):
                sub.deliver(Message(channel, bytes(message["data"]), pattern))


def _drop(
    index: dict[str, set[RedisSubscription]], sub: RedisSubscription, names: tuple[str, ...]
) -> list[str]:
    gone = []
    for name in dict.fromkeys(names):
        subs = index.get(name)
        if subs is None:
            continue
        subs.discard(sub)
        if not subs:
            del index[name]
            gone.append(name)
    return gone


def _names(sub: RedisSubscription) -> list[tuple[str, str]]:
    return [("subscribe", c) for c in sub.channels] + [("psubscribe", p) for p in sub.patterns]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
