"""Resume tokens: a dropped player gets the seat back within the grace period, not after."""

from __future__ import annotations

import asyncio

from tests.server.conftest import StartServer
from tests.server.wsclient import Client


async def test_resume_within_grace_keeps_seat_score_and_lives(start_server: StartServer) -> None:
    app = await start_server(reconnect_grace_s=5.0)
    a, b = await Client.open(app.port), await Client.open(app.port)
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "classic", "private": True})
    joined = await a.expect("joined")
    token, code = joined["token"], joined["room"]
    await b.hello("Bob")
    await b.send({"type": "join", "room": code, "spectate": True})
    await b.expect("joined")
    await a.send({"type": "input", "dir": "left"})
    await a.wait_for(lambda: a.scores.get(0, (0, 0))[0] >= 20, 10)
    await a.close()
    await b.expect(
        "roster", lambda m: m["players"] == [{"id": 0, "name": "Ada", "connected": False}]
    )
    # The game keeps running while the player is away.
    frame = b.frames[-1].frame
    await b.wait_for(lambda: b.frames[-1].frame > frame + 10)
    score_before = b.scores[0]
    again = await Client.open(app.port)
    await again.hello("Someone else", token=token)
    back = await again.expect("joined")
    assert (back["room"], back["you"], back["token"]) == (code, 0, token)
    await again.expect("roster", lambda m: m["players"][0]["connected"] is True)
    await again.wait_for(lambda: again.pellets is not None)
    score, lives = again.scores[0]
    assert score >= score_before[0] >= 20 and lives == score_before[1]
    await b.expect("chat", lambda m: m["system"] and m["text"] == "Ada is back")
    for c in (again, b):
        await c.close()


async def test_seat_is_freed_after_grace(start_server: StartServer) -> None:
    app = await start_server(reconnect_grace_s=0.5)
    a, b = await Client.open(app.port), await Client.open(app.port)
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "arena", "private": True})
    joined = await a.expect("joined")
    await b.hello("Bob")
    await b.send({"type": "join", "room": joined["room"]})
    await b.expect("joined")
    await a.close()
    await b.expect("chat", lambda m: m["system"] and m["text"] == "Ada left", timeout=5)
    await b.expect("roster", lambda m: [p["id"] for p in m["players"]] == [1])
    await asyncio.sleep(0.1)
    late = await Client.open(app.port)
    await late.hello("Ada", token=joined["token"])
    await late.expect("rooms")  # no seat to resume: back in the lobby
    assert not [m for m in late.messages if m["type"] == "joined"]
    for c in (late, b):
        await c.close()


async def test_a_second_connection_with_the_token_takes_the_seat_over(
    start_server: StartServer,
) -> None:
    app = await start_server()
    a = await Client.open(app.port)
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "arena"})
    joined = await a.expect("joined")
    reload = await Client.open(app.port)
    await reload.hello("Ada", token=joined["token"])
    assert (await reload.expect("joined"))["you"] == 0
    await asyncio.wait_for(a.closed.wait(), 5)  # the old tab is closed, not left dangling
    await reload.close()
