"""A room's intents wait until its channel is heard, so the owner's answers are never lost.

A `Cluster` runs in this process over the bus under test (both buses). Its subscriptions to
room channels are held back by hand (`SlowSubscriptions`), as a busy Redis or event loop
holds them back for milliseconds to seconds; another "process" owns the room and answers
each join at once, as an owner does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server import protocol, relay
from server.bus import Bus, keys
from server.cluster import Cluster
from server.game.view import Mode
from server.relay import RelayedText
from tests.server.test_room import RecordingPeer, World
from tests.support.backends import Backend

CODE = "QQQQQ"


class SlowSubscriptions:
    """The bus under test, whose subscriptions to room channels wait for `go`."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self.go = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)

    def subscribe(self, *channels: str, patterns: tuple[str, ...] = ()) -> Any:
        real = self._bus.subscribe(*channels, patterns=patterns)
        slow = any(c.startswith("room:") for c in channels)

        @contextlib.asynccontextmanager
        async def entered() -> AsyncIterator[Any]:
            if slow:
                await self.go.wait()
            async with real as sub:
                yield sub

        return entered()


class Owner:
    """Another process running room CODE: answers every join on the room channel at once."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.intents: list[dict[str, Any]] = []
        self.ready = asyncio.Event()

    async def serve(self) -> None:
        async with self.bus.subscribe(keys.room_intents(CODE)) as sub:
            self.ready.set()
            async for message in sub:
                intent = relay.decode_intent(message.data)
                self.intents.append(intent)
                if intent["op"] == "join":
                    joined = protocol.joined(CODE, Mode.ARENA, 3, "tok", [], "waiting")
                    answer = RelayedText(5, joined, f"{intent['proc']}/{intent['conn']}")
                    await self.bus.publish(keys.room_frames(CODE), relay.encode_text(answer))


@pytest.fixture
async def slow(backend: Backend) -> AsyncIterator[tuple[Cluster, SlowSubscriptions, Owner]]:
    bus = SlowSubscriptions(backend.bus)
    cluster = Cluster(World(countdown_s=0.0).registry, bus, "p1")  # type: ignore[arg-type]
    owner = Owner(backend.peer())
    tasks = [asyncio.create_task(owner.serve()), asyncio.create_task(cluster._send_intents())]
    await owner.ready.wait()
    try:
        yield cluster, bus, owner
    finally:
        bus.go.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await cluster.close()


async def test_a_join_waits_for_the_room_channel_and_its_answer_arrives(
    slow: tuple[Cluster, SlowSubscriptions, Owner],
) -> None:
    cluster, bus, owner = slow
    handle = cluster._handle(CODE)
    lou = RecordingPeer()
    assert handle.quick_join(lou, "Lou") is None
    await asyncio.sleep(0.2)
    # Nothing published while the answer would have nowhere to go.
    assert owner.intents == [] and lou.of("joined") == []
    bus.go.set()
    async with asyncio.timeout(5):
        while not lou.of("joined"):
            await asyncio.sleep(0.01)
    assert [i["op"] for i in owner.intents] == ["join"] and owner.intents[0]["quick"]
    assert lou.of("joined")[0]["you"] == 3
    # Once subscribed, intents go out at once.
    handle.chat(lou, "hi", 0.0)
    async with asyncio.timeout(5):
        while len(owner.intents) < 2:
            await asyncio.sleep(0.01)
    assert owner.intents[1]["op"] == "chat"
