"""A client that stops reading: state frames are skipped, then it is disconnected."""

from __future__ import annotations

import asyncio
import socket
import time

from websockets.asyncio.client import connect

from tests.server.conftest import StartServer
from tests.server.wsclient import Client


async def stuck_client(port: int) -> Client:
    """A client with a tiny receive window; the tests stop reading from it after joining."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    return Client(
        await connect(f"ws://127.0.0.1:{port}/ws", sock=sock, compression=None, max_queue=4)
    )


async def test_a_client_that_stops_reading_is_cut_off_and_others_play_on(
    start_server: StartServer,
) -> None:
    app = await start_server(
        write_buffer_high=1024,
        socket_send_buffer=4096,
        slow_client_s=0.5,
        chat_lines_per_10s=1000,
        messages_per_second=500.0,
        message_burst=500,
    )
    # The stuck client: a tiny receive window, and it never reads after joining.
    stuck = await stuck_client(app.port)
    await stuck.hello("Stuck")
    await stuck.send({"type": "create", "mode": "arena", "private": True})
    code = (await stuck.expect("joined"))["room"]
    talker = await Client.open(app.port)
    await talker.hello("Talker")
    await talker.send({"type": "join", "room": code})
    await talker.expect("joined")
    # Stop consuming: the library pauses the socket once its small queue is full.
    stuck._reader.cancel()
    stuck.ws.transport.pause_reading()
    room = app.registry.rooms[code]
    stuck_conn = next(s.peer for s in room.seats.values() if s.id == 0)
    assert stuck_conn is not None
    started = time.monotonic()
    line = "x" * 200
    # Fill the pipe with room chat (which is never dropped) until the server gives up on it.
    while not getattr(stuck_conn, "closing", False) and time.monotonic() - started < 10:
        await talker.send({"type": "chat", "channel": "room", "text": line})
        await asyncio.sleep(0.005)
    assert getattr(stuck_conn, "closing", False), "the stuck client was never cut off"
    # Meanwhile the healthy client kept getting state frames and the room kept ticking.
    before = len(talker.frames)
    await talker.wait_for(lambda: len(talker.frames) >= before + 5)
    assert talker.gaps == 0
    await talker.close()
    stuck.ws.transport.abort()


async def test_a_stuck_lobby_client_is_cut_off_too(start_server: StartServer) -> None:
    app = await start_server(
        write_buffer_high=1024,
        socket_send_buffer=4096,
        chat_lines_per_10s=1000,
        messages_per_second=500.0,
        message_burst=500,
    )
    stuck = await stuck_client(app.port)
    await stuck.hello("Stuck")
    await stuck.expect("rooms")
    stuck._reader.cancel()
    stuck.ws.transport.pause_reading()
    talker = await Client.open(app.port)
    await talker.hello("Talker")
    session = next(s for s in app.sessions if s.name == "Stuck")
    started = time.monotonic()
    while not session.conn.closing and time.monotonic() - started < 10:
        await talker.send({"type": "chat", "channel": "lobby", "text": "y" * 200})
        await asyncio.sleep(0.002)
    assert session.conn.closing, "a lobby client that never reads was never cut off"
    await talker.close()
    stuck.ws.transport.abort()
