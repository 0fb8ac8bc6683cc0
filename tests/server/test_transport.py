"""The connection's shortcuts for binary messages keep every message, in order, however the
bytes are cut; they only ever take bytes the library would have parsed the same way."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import serve

from server.transport import GameConnection

Message = tuple[str, bytes | str]
KINDS = ["small", "small", "small", "long", "text", "ping", "fragmented", "empty"]


@dataclass
class Peer:
    """The server side of one connection: what it received, in order."""

    ws: GameConnection
    received: list[Message] = field(default_factory=list)
    library_feeds: int = 0  # chunks of bytes the library's parser was given

    def count_library_feeds(self) -> None:
        feed = self.ws.protocol.receive_data

        def counting(data: bytes | bytearray) -> None:
            self.library_feeds += 1
            feed(data)

        self.ws.protocol.receive_data = counting  # type: ignore[method-assign]


Connect = Callable[..., Awaitable[tuple[ClientConnection, Peer]]]


@pytest.fixture
async def open_pair() -> AsyncIterator[Connect]:
    peers: asyncio.Queue[Peer] = asyncio.Queue()

    async def handler(ws: GameConnection) -> None:
        peer = Peer(ws)
        ws.binary_handler = lambda data: peer.received.append(("binary", data))
        peer.count_library_feeds()
        await peers.put(peer)
        async for message in ws:
            peer.received.append(("binary" if isinstance(message, bytes) else "text", message))

    async with serve(
        handler, "127.0.0.1", 0, create_connection=GameConnection, compression=None, max_size=200
    ) as server:
        port = server.sockets[0].getsockname()[1]
        clients: list[ClientConnection] = []

        async def open_connection() -> tuple[ClientConnection, Peer]:
            ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
            clients.append(ws)
            return ws, await asyncio.wait_for(peers.get(), 5)

        yield open_connection
        for ws in clients:
            await ws.close()


async def write_in_pieces(ws: ClientConnection, stream: bytes, cuts: list[int]) -> None:
    """Write the stream cut at the given offsets, yielding between writes so they arrive apart."""
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        if cut > start:
            ws.transport.write(stream[start:cut])
            await asyncio.sleep(0.002)
            start = cut


async def until_received(peer: Peer, count: int) -> None:
    for _ in range(500):
        if len(peer.received) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"received {len(peer.received)} of {count}: {peer.received}")


async def test_small_binary_frames_skip_the_library_and_arrive_in_order(open_pair: Connect) -> None:
    ws, peer = await open_pair()
    intents = [bytes([1, n]) for n in range(40)]
    for data in intents:
        ws.protocol.send_binary(data)
    # One write with every frame, then the same again one frame per write.
    ws.transport.write(b"".join(ws.protocol.data_to_send()))
    for data in intents:
        await ws.send(data)
    await until_received(peer, 80)
    assert peer.received == [("binary", data) for data in intents * 2]
    assert peer.library_feeds == 0


async def test_frames_cut_anywhere_and_mixed_keep_their_order(open_pair: Connect) -> None:
    rng = random.Random(20261121)
    ws, peer = await open_pair()
    expected: list[Message] = []
    stream = b""
    boundaries: list[int] = []  # offsets between two frames
    for _ in range(300):
        stream += b"".join(ws.protocol.data_to_send())
        boundaries.append(len(stream))
        kind = rng.choice(KINDS)
        if kind == "small":
            data = rng.randbytes(rng.randint(1, 125))
            ws.protocol.send_binary(data)
        elif kind == "empty":
            data = b""
            ws.protocol.send_binary(data)
        elif kind == "long":  # a 16-bit length header: always the library's
            data = rng.randbytes(rng.randint(126, 200))
            ws.protocol.send_binary(data)
        elif kind == "fragmented":
            head, tail = rng.randbytes(3), rng.randbytes(4)
            data = head + tail
            ws.protocol.send_binary(head, fin=False)
            ws.protocol.send_continuation(tail, fin=True)
        elif kind == "text":
            text = f"text {len(expected)}"
            ws.protocol.send_text(text.encode())
            expected.append(("text", text))
            continue
        else:
            ws.protocol.send_ping(b"p")
            continue
        expected.append(("binary", data))
    stream += b"".join(ws.protocol.data_to_send())
    # Half the cuts fall between frames, where the shortcut may start; half anywhere.
    cuts = {*rng.sample(boundaries[1:], 100), *rng.sample(range(1, len(stream)), 100)}
    await write_in_pieces(ws, stream, sorted(cuts))
    await until_received(peer, len(expected))
    assert peer.received == expected
    assert 0 < peer.library_feeds < len(cuts)  # both paths ran


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame with FIN set and an all-zero mask, so the payload reads as sent."""
    assert len(payload) <= 125
    return bytes([0x80 | opcode, 0x80 | len(payload), 0, 0, 0, 0]) + payload


async def test_bytes_inside_a_frame_are_never_read_as_a_frame(open_pair: Connect) -> None:
    _, peer = await open_pair()
    inner = masked_frame(0x2, b"A")  # looks like a whole small frame...
    outer = masked_frame(0x2, inner)  # ...but is the payload of this one
    # Fed straight to the connection, as the event loop would, cut after the outer header:
    # the second piece starts mid-frame, where only the library may go on.
    peer.ws.data_received(outer[:6])
    peer.ws.data_received(outer[6:])
    peer.ws.data_received(inner)
    assert peer.received == [("binary", inner), ("binary", b"A")]


async def test_a_binary_frame_waits_for_a_text_message_still_queued(open_pair: Connect) -> None:
    _, peer = await open_pair()
    # Two reads before the session's reader task can run: the text is still in the queue.
    peer.ws.data_received(masked_frame(0x1, b"first"))
    peer.ws.data_received(masked_frame(0x2, b"second"))
    await until_received(peer, 2)
    assert peer.received == [("text", "first"), ("binary", b"second")]


async def test_an_unmasked_frame_is_still_a_protocol_error(open_pair: Connect) -> None:
    ws, peer = await open_pair()
    ws.transport.write(b"\x82\x02hi")  # clients must mask: the library closes with 1002
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 1002
    assert peer.received == []


async def test_a_small_frame_over_the_size_limit_is_still_refused(open_pair: Connect) -> None:
    ws, peer = await open_pair()
    await ws.send(b"x" * 10)
    peer.ws.protocol.max_message_size = 50  # a limit below the shortcut's largest frame
    await ws.send(b"y" * 60)
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 1009
    assert peer.received == [("binary", b"x" * 10)]


async def test_frames_stop_as_soon_as_the_peer_sends_its_close(open_pair: Connect) -> None:
    ws, peer = await open_pair()
    assert peer.ws.open_for_frames
    ws.protocol.send_close(1000, "bye")
    ws.transport.write(b"".join(ws.protocol.data_to_send()))
    for _ in range(200):
        if not peer.ws.open_for_frames:
            break
        await asyncio.sleep(0.01)
    # The server has answered the close; the TCP connection may still be open, but no data
    # frame may follow a close frame.
    assert not peer.ws.open_for_frames


async def test_frames_stop_as_soon_as_the_server_starts_closing(open_pair: Connect) -> None:
    _, peer = await open_pair()
    closing = asyncio.create_task(peer.ws.close(1001, "going away"))
    await asyncio.sleep(0)  # the close frame is written before the peer's reply comes back
    assert not peer.ws.open_for_frames and not peer.ws.transport.is_closing()
    await closing
