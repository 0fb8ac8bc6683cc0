"""Chat over real websockets: room and lobby channels, history on join, rate limits."""

from __future__ import annotations

from tests.server.conftest import OpenClient, StartServer
from tests.server.wsclient import Client


async def test_room_chat_with_history_for_late_joiners(client: OpenClient) -> None:
    a, b = await client(), await client()
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "arena", "private": True})
    code = (await a.expect("joined"))["room"]
    await a.send({"type": "chat", "channel": "room", "text": " hello\x00 <b>world</b> \u202e"})
    line = await a.expect("chat", lambda m: not m["system"])
    assert line["from"] == "Ada" and line["text"] == "hello <b>world</b>"
    assert line["channel"] == "room" and isinstance(line["ts"], int)
    await b.hello("Bob")
    await b.send({"type": "join", "room": code})
    history = await b.expect("history", lambda m: m["channel"] == "room")
    texts = [(x["from"], x["text"], x["system"]) for x in history["lines"]]
    assert texts == [(None, "Ada joined", True), ("Ada", "hello <b>world</b>", False)]
    # B's arrival is announced to A as a system line, and B's lines reach A.
    await a.expect("chat", lambda m: m["system"] and m["text"] == "Bob joined")
    await b.send({"type": "chat", "channel": "room", "text": "gg"})
    got = await a.expect("chat", lambda m: m["text"] == "gg")
    assert got["from"] == "Bob"
    await b.send({"type": "leave"})
    await b.expect("left")
    await a.expect("chat", lambda m: m["system"] and m["text"] == "Bob left")


async def test_history_is_capped_at_50(start_server: StartServer) -> None:
    app = await start_server(chat_lines_per_10s=1000, message_burst=100)
    a = await Client.open(app.port)
    await a.hello("Ada")
    for i in range(60):
        await a.send({"type": "chat", "channel": "lobby", "text": f"line {i}"})
    await a.expect("chat", lambda m: m["text"] == "line 59")
    b = await Client.open(app.port)
    await b.hello("Bob")
    history = await b.expect("history", lambda m: m["channel"] == "lobby")
    assert [x["text"] for x in history["lines"]] == [f"line {i}" for i in range(10, 60)]
    for c in (a, b):
        await c.close()


async def test_chat_rate_limit_and_length(client: OpenClient) -> None:
    a, b = await client(), await client()
    await a.hello("Ada")
    await b.hello("Bob")
    for i in range(7):
        await a.send({"type": "chat", "channel": "lobby", "text": f"spam {i}"})
    err = await a.expect("error")
    assert err["code"] == "chat_rate_limited"
    await b.expect("chat", lambda m: m["text"] == "spam 4")
    seen = [m["text"] for m in b.messages if m["type"] == "chat"]
    assert "spam 5" not in seen and "spam 6" not in seen
    await b.send({"type": "chat", "channel": "lobby", "text": "x" * 201})
    assert (await b.expect("error"))["code"] == "chat_invalid"
    await b.send({"type": "chat", "channel": "lobby", "text": "  \x07 "})
    assert (await b.expect("error"))["code"] == "chat_invalid"


async def test_lobby_chat_is_not_sent_into_rooms(client: OpenClient) -> None:
    a, b = await client(), await client()
    await a.hello("Ada")
    await a.send({"type": "quick_play"})
    await a.expect("joined")
    await b.hello("Bob")
    await b.send({"type": "chat", "channel": "lobby", "text": "anyone?"})
    await b.expect("chat", lambda m: m["text"] == "anyone?")
    await a.send({"type": "chat", "channel": "room", "text": "marker"})
    await a.expect("chat", lambda m: m["text"] == "marker")
    assert not [m for m in a.messages if m.get("text") == "anyone?"]
