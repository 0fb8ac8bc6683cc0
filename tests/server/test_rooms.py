"""Rooms: the lobby list, quick play, private rooms, codes, disposal when empty."""

from __future__ import annotations

import re

from server.app import App
from server.rooms import CODE_ALPHABET
from tests.server.conftest import OpenClient


async def test_room_list_quick_play_and_private_rooms(server: App, client: OpenClient) -> None:
    watcher, a, b, p = await client(), await client(), await client(), await client()
    await watcher.hello("Watcher")
    assert (await watcher.expect("rooms"))["rooms"] == []
    await a.hello("Ada")
    await a.send({"type": "quick_play"})
    room = (await a.expect("joined"))["room"]
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{5}}", room)
    listed = await watcher.expect("rooms", lambda m: bool(m["rooms"]))
    assert listed["rooms"] == [
        {"code": room, "mode": "arena", "players": 1, "max": 8, "spectators": 0, "state": "waiting"}
    ]
    # Quick play puts the next player in the same open room.
    await b.hello("Ada")
    await b.send({"type": "quick_play"})
    jb = await b.expect("joined")
    assert (jb["room"], jb["you"]) == (room, 1)
    roster = await b.expect("roster", lambda m: len(m["players"]) == 2)
    assert [x["name"] for x in roster["players"]] == ["Ada", "Ada 2"]
    await watcher.expect("rooms", lambda m: m["rooms"] and m["rooms"][0]["players"] == 2)
    # A private room is joinable by code but never listed.
    await p.hello("Pat")
    await p.send({"type": "create", "mode": "classic", "private": True})
    private = (await p.expect("joined"))["room"]
    assert private in server.registry.rooms
    assert all(
        r["code"] != private for m in watcher.messages if m["type"] == "rooms" for r in m["rooms"]
    )


async def test_rooms_are_disposed_when_empty(server: App, client: OpenClient) -> None:
    a = await client()
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "arena"})
    room = (await a.expect("joined"))["room"]
    assert room in server.registry.rooms
    await a.send({"type": "leave"})
    await a.expect("left")
    await a.expect("rooms")
    assert room not in server.registry.rooms
    assert room not in server.scheduler.rooms
    await a.send({"type": "join", "room": room})
    assert (await a.expect("error"))["code"] == "room_not_found"


async def test_join_by_code_is_case_insensitive(client: OpenClient) -> None:
    a, b = await client(), await client()
    await a.hello("Ada")
    await a.send({"type": "create", "mode": "arena", "private": True})
    room = (await a.expect("joined"))["room"]
    await b.hello("Bob")
    await b.send({"type": "join", "room": room.lower()})
    assert (await b.expect("joined"))["room"] == room
