"""Contract: pub/sub delivery across processes, patterns, and unsubscribe on scope exit."""

from __future__ import annotations

import asyncio

import pytest

from server.bus import Message
from server.bus.base import QueuedSubscription
from tests.support.backends import Backend


async def test_delivery_to_a_subscriber_on_another_process(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    async with bus.subscribe("room:1") as sub:
        assert await peer.publish("room:1", b"frame-1") == 1
        assert await peer.publish("room:2", b"elsewhere") == 0
        await peer.publish("room:1", b"frame-2")
        first = await sub.get(timeout=2)
        second = await sub.get(timeout=2)
    assert first == Message("room:1", b"frame-1")
    assert second == Message("room:1", b"frame-2")
    assert type(first.data) is bytes


async def test_async_iteration_ends_when_closed(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    received: list[bytes] = []
    async with bus.subscribe("c") as sub:

        async def reader() -> None:
            async for message in sub:
                received.append(message.data)

        task = asyncio.create_task(reader())
        for i in range(3):
            await peer.publish("c", bytes([i]))
        for _ in range(200):
            if len(received) == 3:
                break
            await asyncio.sleep(0.01)
    await asyncio.wait_for(task, 2)  # leaving the scope ends the iteration
    assert received == [b"\x00", b"\x01", b"\x02"]


async def test_patterns_and_several_channels(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    async with bus.subscribe("lobby", patterns=("room:*:frames",)) as sub:
        await peer.publish("room:7:frames", b"f")
        await peer.publish("room:7:intents", b"nope")
        await peer.publish("lobby", b"list")
        got = [await sub.get(timeout=2), await sub.get(timeout=2)]
        assert await sub.get(timeout=0.1) is None
    assert got == [Message("room:7:frames", b"f", "room:*:frames"), Message("lobby", b"list")]


async def test_unsubscribed_when_scope_exits(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    async with bus.subscribe("c") as sub:
        assert await peer.publish("c", b"1") == 1
        assert await sub.get(timeout=2) == Message("c", b"1")
    assert await peer.publish("c", b"2") == 0
    assert await sub.get(timeout=0.1) is None


async def test_one_subscriber_leaving_keeps_the_other(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    async with bus.subscribe("c") as stays:
        async with bus.subscribe("c", "d") as leaves:
            await peer.publish("c", b"both")
            assert await leaves.get(timeout=2) == Message("c", b"both")
            assert await stays.get(timeout=2) == Message("c", b"both")
        await peer.publish("c", b"one")
        await peer.publish("d", b"nobody")
        assert await stays.get(timeout=2) == Message("c", b"one")
        assert await stays.get(timeout=0.1) is None
        assert await peer.publish("d", b"nobody") == 0


async def test_published_bytes_are_a_copy(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    async with bus.subscribe("c") as sub:
        buffer = bytearray(b"state")
        await peer.publish("c", buffer)  # type: ignore[arg-type]
        buffer[:] = b"XXXXX"
        message = await sub.get(timeout=2)
    assert message is not None and message.data == b"state"


async def test_concurrent_subscribers_are_live_when_entered(backend: Backend) -> None:
    bus, peer = backend.bus, backend.peer()
    first, second = bus.subscribe("hot"), bus.subscribe("hot")
    opening = asyncio.create_task(first.open())
    await asyncio.sleep(0)  # the first one is subscribing: the second joins its channel
    await second.open()
    try:
        await peer.publish("hot", b"now")  # right away: the entered subscription gets it
        assert await second.get(timeout=2) == Message("hot", b"now")
        await opening
        assert await first.get(timeout=2) == Message("hot", b"now")
    finally:
        await first.close()
        await second.close()
    assert await peer.publish("hot", b"after") == 0


async def test_a_reader_cancelled_as_its_message_arrives_is_cancelled(backend: Backend) -> None:
    # Python 3.11's wait_for returned the message instead, and a listener cancelled at that
    # moment (a process closing) went on reading forever
    async with backend.bus.subscribe("c") as sub:
        assert isinstance(sub, QueuedSubscription)
        reader = asyncio.create_task(sub.get(timeout=5))
        await asyncio.sleep(0.01)
        sub.deliver(Message("c", b"x"))
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert await sub.get(timeout=1) == Message("c", b"x")  # left for the next read


async def test_a_listener_cancelled_while_it_subscribes_stops(backend: Backend) -> None:
    # A process closing cancels its listeners; one caught subscribing used to have the
    # cancellation swallowed (by redis-py) and then read its subscription forever.
    async def listen(channel: str) -> None:
        async with backend.bus.subscribe(channel) as sub:
            async for _ in sub:
                pass

    for turns in range(12):  # cancel at each await of the subscribing in turn
        listener = asyncio.create_task(listen(f"c{turns}"))
        for _ in range(turns):
            await asyncio.sleep(0)
        listener.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await listener
