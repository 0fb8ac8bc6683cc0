"""Bad and unexpected client frames get clear errors; the room keeps ticking; limits hold."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import protocol
from server.app import App
from server.game.view import Direction
from tests.server.conftest import OpenClient, StartServer
from tests.server.wsclient import Client


async def close_code(c: Client) -> int | None:
    await asyncio.wait_for(c.closed.wait(), 5)
    return c.ws.close_code


async def test_version_mismatch_gets_a_message_and_close_4000(client: OpenClient) -> None:
    c = await client()
    await c.send({"type": "hello", "v": 2, "name": "Ada"})
    err = await c.expect("error")
    assert err["code"] == "version" and "v1" in err["message"]
    assert await close_code(c) == 4000


async def test_anything_before_hello_is_not_ready(client: OpenClient) -> None:
    c = await client()
    await c.send({"type": "quick_play"})
    err = await c.expect("error")
    assert (err["code"], err["ref"]) == ("not_ready", "quick_play")
    await c.hello()  # the connection is still usable


async def test_invalid_name_is_refused_and_hello_can_be_retried(client: OpenClient) -> None:
    c = await client()
    await c.send({"type": "hello", "v": 1, "name": "<b>"})
    assert (await c.expect("error"))["code"] == "name_invalid"
    await c.hello("Ada")


async def test_bad_frames_get_errors_while_the_room_keeps_ticking(client: OpenClient) -> None:
    c = await client()
    await c.hello()
    await c.send({"type": "create", "mode": "classic"})
    await c.expect("joined")
    await c.wait_for(lambda: c.frames and c.frames[-1].phase == 1, 10)
    bad: list[tuple[str | bytes, str]] = [
        ("{oops", "bad_json"),
        ('"just a string"', "bad_message"),
        ('{"type": 7}', "bad_message"),
        ('{"type": "jump"}', "unknown_type"),
        ('{"type": "input", "dir": 3}', "bad_message"),
        ('{"type": "chat", "channel": "room"}', "bad_message"),
        ('{"type": "hello", "v": 1, "name": "Ada"}', "bad_message"),
        ('{"type": "join", "room": "ZZZZZ"}', "bad_message"),  # already in a room
        (b"\x10\x09", "bad_message"),
        (b"\xff", "bad_message"),
    ]
    for frame, code in bad:
        before = c.frames[-1].frame
        await c.ws.send(frame)
        err = await c.expect("error")
        assert err["code"] == code, (frame, err)
        assert "Traceback" not in err["message"]
        await c.wait_for(lambda before=before: c.frames[-1].frame > before)
    assert not c.closed.is_set()


async def test_room_errors(client: OpenClient) -> None:
    c = await client()
    await c.hello()
    await c.send({"type": "join", "room": "ZZZZZ"})
    assert (await c.expect("error"))["code"] == "room_not_found"
    for kind in ("input", "leave", "start", "keyframe"):
        await c.send({"type": kind, "dir": "up"})
        err = await c.expect("error")
        assert (err["code"], err["ref"]) == ("not_in_room", kind)
    await c.send({"type": "chat", "channel": "room", "text": "hi"})
    assert (await c.expect("error"))["code"] == "not_in_room"


async def test_ping_pong(client: OpenClient) -> None:
    c = await client()
    await c.hello()
    await c.send({"type": "ping", "t": 1234.5})
    assert (await c.expect("pong"))["t"] == 1234.5


async def test_oversized_message_gets_an_error_and_close_1009(start_server: StartServer) -> None:
    app = await start_server(max_message_bytes=256)
    c = await Client.open(app.port)
    await c.hello()
    await c.send({"type": "chat", "channel": "lobby", "text": "x" * 400})
    assert (await c.expect("error"))["code"] == "too_large"
    assert await close_code(c) == 1009


async def test_message_rate_limit_then_flood_close(start_server: StartServer) -> None:
    app = await start_server(messages_per_second=5.0, message_burst=10)
    c = await Client.open(app.port)
    await c.hello()
    for i in range(15):
        await c.send({"type": "ping", "t": i})
    err = await c.expect("error")
    assert err["code"] == "rate_limited"
    pongs = [m for m in c.messages if m["type"] == "pong"]
    assert 8 <= len(pongs) < 15  # the burst (one token went to hello), then refused
    try:
        for i in range(200):
            await c.send({"type": "ping", "t": i})
    except ConnectionClosed:
        pass
    assert await close_code(c) == 1008


async def test_connection_caps(start_server: StartServer) -> None:
    app: App = await start_server(max_connections_per_ip=2)
    a, b = await Client.open(app.port), await Client.open(app.port)
    c = await Client.open(app.port)
    assert await close_code(c) == 1008
    assert c.ws.close_reason and "too many connections" in c.ws.close_reason
    full = await start_server(max_connections=1)
    d = await Client.open(full.port)
    e = await Client.open(full.port)
    assert await close_code(e) == 1013
    assert (await e.expect("error"))["code"] == "server_full"
    for x in (a, b, c, d, e):
        await x.close()


async def test_per_ip_cap_uses_x_forwarded_for_behind_a_proxy(start_server: StartServer) -> None:
    app = await start_server(max_connections_per_ip=1, forwarded_for_hops=1)
    url = f"ws://127.0.0.1:{app.port}/ws"
    # Two different clients through the same proxy address are both let in...
    a = Client(await connect(url, additional_headers={"X-Forwarded-For": "203.0.113.5"}))
    b = Client(await connect(url, additional_headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.6"}))
    await a.hello()
    await b.hello()
    # ...a second connection from the same client is not, whatever it forges on the left.
    c = Client(await connect(url, additional_headers={"X-Forwarded-For": "9.9.9.9, 203.0.113.5"}))
    assert await close_code(c) == 1008
    for x in (a, b, c):
        await x.close()


async def test_messages_arriving_together_are_handled_in_order(client: OpenClient) -> None:
    # Binary intents skip the reader task when nothing is queued before them; here hello and
    # create are still queued when the intent arrives (one TCP write), so it must wait its turn.
    c = await client()
    c.ws.protocol.send_text(b'{"type": "hello", "v": 1, "name": "Ada"}')
    c.ws.protocol.send_text(b'{"type": "create", "mode": "classic"}')
    c.ws.protocol.send_binary(protocol.encode_intent(Direction.UP))
    c.ws.transport.write(b"".join(c.ws.protocol.data_to_send()))
    await c.expect("joined")
    await c.wait_for(lambda: len(c.frames) >= 3, 5)
    assert [m for m in c.messages if m["type"] == "error"] == []
