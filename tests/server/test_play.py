"""Playing over real websockets: join, move, stop at a wall, eat, see each other, spectate."""

from __future__ import annotations

import itertools
from typing import Any

from server import protocol
from server.game.view import Direction, Phase
from tests.server.conftest import OpenClient
from tests.server.wsclient import Client


async def create(
    c: Client, mode: str = "arena", private: bool = False, name: str = "Ada"
) -> dict[str, Any]:
    await c.hello(name)
    await c.send({"type": "create", "mode": mode, "private": private})
    return await c.expect("joined")


def tile(x: int, y: int) -> tuple[int, int]:
    return (x // 8, y // 8)


async def test_join_burst(client: OpenClient) -> None:
    c = await client()
    welcome = await c.hello("  Ada  ")
    assert welcome["v"] == 1 and welcome["name"] == "Ada" and welcome["tick_hz"] == 60
    assert welcome["session"].startswith("s-")
    await c.expect("rooms")
    await c.send({"type": "create", "mode": "arena", "private": False})
    joined = await c.expect("joined")
    assert joined["you"] == 0 and joined["mode"] == "arena"
    assert len(joined["room"]) == 5 and joined["link"] == f"/?room={joined['room']}"
    assert len(joined["maze"]) == 36 and isinstance(joined["token"], str)
    roster = await c.expect("roster")
    assert roster["players"] == [{"id": 0, "name": "Ada", "connected": True}]
    await c.expect("history", lambda m: m["channel"] == "room")
    await c.wait_for(lambda: c.frames)
    first = c.frames[0]
    assert first.kind == protocol.KEYFRAME
    assert [p.id for p in first.players] == [0] and len(first.ghosts) == 4
    # Frames keep coming at the send rate with consecutive sequence numbers.
    await c.wait_for(lambda: len(c.frames) >= 6)
    seqs = [f.seq for f in c.frames]
    assert all(b == (a + 1) & 0xFFFF for a, b in itertools.pairwise(seqs))
    assert c.gaps == 0


async def test_move_along_a_corridor_stop_at_the_wall_and_score(client: OpenClient) -> None:
    c = await client()
    joined = await create(c, "classic")
    maze = joined["maze"]
    await c.wait_for(lambda: c.frames)
    start = c.me(0)
    assert start is not None
    await c.ws.send(protocol.encode_intent(Direction.LEFT))

    def stopped() -> bool:
        last = c.frames[-12:]
        if len(last) < 12 or last[-1].phase != Phase.PLAYING:
            return False
        xs = {next(p.x for p in f.players if p.id == 0) for f in last}
        return len(xs) == 1 and xs != {start.x}

    await c.wait_for(stopped, timeout=15)
    me = c.me(0)
    assert me is not None and me.y == start.y and me.x < start.x
    tx, ty = tile(me.x, me.y)
    assert maze[ty][tx - 1] == "#"  # stopped because the next tile left is a wall
    assert all(maze[ty][x] != "#" for x in range(tx, start.x // 8))  # a straight open corridor
    # Every dot on the way is gone from the client's pellet map and paid for.
    eaten = {(x, ty) for x in range(tx, start.x // 8 + 1) if maze[ty][x] == "."}
    assert eaten
    index = {}
    i = 0
    for y, row in enumerate(maze):
        for x, ch in enumerate(row):
            if ch in ".o":
                index[(x, y)] = i
                i += 1
    assert c.pellets is not None
    assert all(not c.pellets >> index[t] & 1 for t in eaten)
    assert c.scores[0][0] >= 10 * len(eaten)


async def test_two_players_in_one_arena_see_each_other(client: OpenClient) -> None:
    a, b = await client(), await client()
    joined = await create(a, "arena", private=True)
    await b.hello("Bob")
    await b.send({"type": "join", "room": joined["room"]})
    jb = await b.expect("joined")
    assert jb["you"] == 1 and jb["room"] == joined["room"]
    await a.expect("roster", lambda m: len(m["players"]) == 2)
    for c in (a, b):

        def both(c: Client = c) -> bool:
            return bool(c.frames) and {p.id for p in c.frames[-1].players} == {0, 1}

        await c.wait_for(both)
    # B moves; A sees B's position change.
    before = a.me(1)
    assert before is not None
    await b.send({"type": "input", "dir": "left"})
    await b.send({"type": "input", "dir": "right"})
    await a.wait_for(lambda: (p := a.me(1)) is not None and (p.x, p.y) != (before.x, before.y), 10)
    # Everyone gets the same bytes: the two clients' frames agree on positions.
    pa, pb = a.frames[-1], b.frames[-1]
    if pa.seq == pb.seq:
        assert [(p.x, p.y) for p in pa.players] == [(p.x, p.y) for p in pb.players]


async def test_spectator_gets_frames_but_cannot_act(client: OpenClient) -> None:
    a, s = await client(), await client()
    joined = await create(a, "arena")
    await s.hello("Eve")
    await s.send({"type": "join", "room": joined["room"], "spectate": True})
    js = await s.expect("joined")
    assert js["you"] is None and js["token"] is None
    await a.expect("roster", lambda m: m["spectators"] == 1)
    await s.wait_for(lambda: len(s.frames) >= 3)
    await s.send({"type": "input", "dir": "up"})
    err = await s.expect("error")
    assert err["code"] == "spectator"
    await s.ws.send(protocol.encode_intent(Direction.UP))
    assert (await s.expect("error"))["code"] == "spectator"
    await s.send({"type": "start"})
    assert (await s.expect("error"))["code"] == "spectator"
    assert [p.id for p in s.frames[-1].players] == [0]


async def test_a_full_room_makes_you_a_spectator(client: OpenClient) -> None:
    a, b = await client(), await client()
    joined = await create(a, "classic")  # classic seats one player
    await b.hello("Bob")
    await b.send({"type": "join", "room": joined["room"]})
    assert (await b.expect("joined"))["you"] is None


async def test_arena_waits_for_two_players_or_start(client: OpenClient) -> None:
    a = await client()
    await create(a, "arena")
    await a.wait_for(lambda: len(a.frames) >= 5)
    assert all(f.frame == a.frames[0].frame for f in a.frames)  # waiting: nothing steps
    await a.send({"type": "start"})
    await a.expect("room_state", lambda m: m["state"] == "playing")
    await a.wait_for(lambda: a.frames[-1].frame > a.frames[0].frame + 10)
