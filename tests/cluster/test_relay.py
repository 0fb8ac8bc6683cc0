"""Players on different processes share one room: moves, chat, the room list, keyframes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from server.analytics.events import STREAM, Event, Kind
from server.bus import keys
from server.bus.redis import RedisBus
from tests.cluster.conftest import OpenClient
from tests.cluster.procs import ServerProcess, cluster
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer


async def _seated(client: Client, name: str, **first: Any) -> dict[str, Any]:
    await client.hello(name)
    await client.send(first)
    return await client.expect("joined")


async def test_players_on_two_processes_see_each_other_move_and_chat(
    shared_cluster: list[ServerProcess], open_client: OpenClient
) -> None:
    p0, p1, _ = shared_cluster
    ada = await open_client(p0)
    joined = await _seated(ada, "Ada", type="create", mode="arena")
    code, ada_id = joined["room"], joined["you"]
    bob = await open_client(p1)
    await bob.hello("Bob")
    # A new room is announced to every process at once; join once p1's list shows it.
    await bob.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
    await bob.send({"type": "join", "room": code})
    joined_b = await bob.expect("joined")
    assert joined_b["room"] == code and joined_b["you"] not in (None, ada_id)
    bob_id = joined_b["you"]
    # Both seats are on the roster everywhere, both connected.
    for c in (ada, bob):
        await c.expect(
            "roster", lambda m: sum(p["connected"] for p in m["players"]) == 2, timeout=5
        )
    # Bob, relayed, gets a keyframe and then frames showing Ada.
    await bob.wait_for(lambda: bob.pellets is not None and bob.me(ada_id) is not None)
    await bob.expect("room_state", lambda m: m["state"] == "playing", timeout=5)
    start_a = bob.me(ada_id)
    start_b = ada.me(bob_id) or await ada.wait_for(lambda: ada.me(bob_id))
    assert start_a is not None and start_b is not None
    # Each steers; each sees the other move (Ada's intent is local, Bob's goes through Redis).
    for direction in ("left", "right"):
        await ada.send({"type": "input", "dir": direction})
        await bob.send({"type": "input", "dir": direction})
    await bob.wait_for(lambda: (p := bob.me(ada_id)) and (p.x, p.y) != (start_a.x, start_a.y))
    await ada.wait_for(lambda: (p := ada.me(bob_id)) and (p.x, p.y) != (start_b.x, start_b.y))
    assert bob.gaps == 0 and ada.gaps == 0
    # Room chat both ways.
    await bob.send({"type": "chat", "channel": "room", "text": "hi from p1"})
    await ada.expect("chat", lambda m: m["text"] == "hi from p1" and m["from"] == "Bob")
    await ada.send({"type": "chat", "channel": "room", "text": "hi from p0"})
    await bob.expect("chat", lambda m: m["text"] == "hi from p0" and m["from"] == "Ada")
    # A relayed player's bad intent gets its error back (spectators cannot start, etc.).
    await bob.send({"type": "chat", "channel": "room", "text": " "})
    await bob.expect("error", lambda m: m["code"] == "chat_invalid")


async def test_room_list_and_lobby_chat_agree_everywhere(
    shared_cluster: list[ServerProcess], open_client: OpenClient
) -> None:
    owner = await open_client(shared_cluster[2])
    joined = await _seated(owner, "Cy", type="create", mode="arena")
    code = joined["room"]
    lobby = [await open_client(p) for p in shared_cluster]
    for c in lobby:
        await c.hello("Dee")

    def listed(c: Client) -> bool:
        lists = [m for m in c.messages if m["type"] == "rooms"]
        return bool(lists) and any(r["code"] == code for r in lists[-1]["rooms"])

    for c in lobby:
        await c.wait_for(lambda c=c: listed(c), timeout=5)
    await lobby[0].send({"type": "chat", "channel": "lobby", "text": "anyone on p1?"})
    for c in lobby:
        await c.expect("chat", lambda m: m["text"] == "anyone on p1?", timeout=5)
    # A newcomer on any process gets the lobby history, wherever the line was said.
    late = await open_client(shared_cluster[1])
    await late.hello("Eve")
    history = await late.expect("history", lambda m: m["channel"] == "lobby")
    assert any(line["text"] == "anyone on p1?" for line in history["lines"])


async def test_a_player_back_on_a_process_that_never_saw_the_room_gets_the_seat_again(
    shared_cluster: list[ServerProcess], open_client: OpenClient
) -> None:
    p0, _, p2 = shared_cluster
    ada = await open_client(p0)
    joined = await _seated(ada, "Ada", type="create", mode="arena")
    await ada.close()  # the seat is held for the reconnect grace
    # p2 holds no copy of anyone's token: it looks this one up in the shared hash.
    again = await open_client(p2)
    await again.hello("Ada", token=joined["token"])
    back = await again.expect("joined", timeout=5)
    assert (back["room"], back["you"], back["token"]) == (
        joined["room"], joined["you"], joined["token"]
    )  # fmt: skip
    await again.wait_for(lambda: again.pellets is not None and again.me(joined["you"]))
    # A token nobody holds leaves its bearer in the lobby, as on one process.
    stranger = await open_client(p2)
    await stranger.hello("Bo", token="no-such-token")
    await stranger.expect("rooms")
    with pytest.raises(TimeoutError):
        await stranger.expect("joined", timeout=1)


async def test_quick_play_fills_a_room_run_by_another_process(
    shared_cluster: list[ServerProcess], open_client: OpenClient
) -> None:
    first = await open_client(shared_cluster[0])
    code = (await _seated(first, "Fay", type="create", mode="classic"))["room"]
    assert code
    # Classic rooms have one seat: quick play elsewhere must not pick the full one.
    other = await open_client(shared_cluster[1])
    joined = await _seated(other, "Gus", type="quick_play", mode="classic")
    assert joined["room"] != code and joined["you"] == 0


async def test_quick_play_prefers_rooms_here_and_never_overfills_one_elsewhere(
    own_redis: RedisServer, tmp_path: Path, open_client: OpenClient
) -> None:
    with cluster(own_redis.url, tmp_path, count=2) as (p0, p1):  # no rooms left by others
        await _quick_play_across(p0, p1, open_client)


async def _quick_play_across(p0: ServerProcess, p1: ServerProcess, open_client: OpenClient) -> None:
    host = await open_client(p0)
    code = (await _seated(host, "Hal", type="create", mode="arena"))["room"]
    arrivals = [await open_client(p1) for _ in range(8)]
    for i, c in enumerate(arrivals):
        await c.hello(f"Q{i}")
    await arrivals[0].expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
    await asyncio.sleep(2.5)  # quick play sends players elsewhere only to rooms that hold still
    # Nothing to join on p1: the first arrival keeps p0's lonely player company; after it,
    # p0's room is no longer lonely (p1 counts the seat it sent, although p1's copy of the
    # count is up to a second old), so the other seven fill a new room of p1's own.
    for c in arrivals:
        await c.send({"type": "quick_play", "mode": "arena"})
    joined = [await c.expect("joined") for c in arrivals]
    assert all(j["you"] is not None for j in joined), joined  # nobody made a spectator
    assert joined[0]["room"] == code
    elsewhere = joined[1]["room"]
    assert elsewhere != code and [j["room"] for j in joined[1:]] == [elsewhere] * 7
    # That room is p1's own: the next arrival on p1 goes there, not to a fuller room elsewhere.
    late = await open_client(p1)
    assert (await _seated(late, "Lou", type="quick_play", mode="arena"))["room"] == elsewhere


async def test_quick_play_seats_a_player_here_when_the_room_elsewhere_filled_meanwhile(
    own_redis: RedisServer, tmp_path: Path, open_client: OpenClient
) -> None:
    with cluster(own_redis.url, tmp_path, count=2) as (p0, p1):
        host = await open_client(p0)
        code = (await _seated(host, "Hal", type="create", mode="arena"))["room"]
        late = await open_client(p1)
        await late.hello("Lou")
        await late.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
        await asyncio.sleep(2.5)  # p1 now sees a lonely room on p0 that holds still
        # p0 fills it with its own players; p1's copy of the count is up to a second old.
        locals_ = [await open_client(p0) for _ in range(7)]
        for i, c in enumerate(locals_):
            await c.hello(f"L{i}")
            await c.send({"type": "quick_play", "mode": "arena"})
        assert [(await c.expect("joined"))["room"] for c in locals_] == [code] * 7
        await late.send({"type": "quick_play", "mode": "arena"})
        joined = await late.expect("joined")
        # Not a spectator in the full room: a seat in a room of p1's own.
        assert joined["you"] is not None and joined["room"] != code, joined
        assert not [m for m in late.messages if m["type"] == "error"]
        # And the session is in that room: its chat and moves go there.
        await late.send({"type": "chat", "channel": "room", "text": "here now"})
        await late.expect("chat", lambda m: m["text"] == "here now" and m["from"] == "Lou")
        await late.send({"type": "leave"})
        await late.expect("left")


async def _commands(url: str) -> int:
    """Commands Redis has processed so far (INFO stats), minus our own INFO call."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("stats")
        return int(info["total_commands_processed"])
    finally:
        await client.aclose()


async def test_one_bus_message_per_room_per_send_tick(
    shared_cluster: list[ServerProcess], open_client: OpenClient, redis_server: RedisServer
) -> None:
    p0, p1, p2 = shared_cluster
    ada = await open_client(p0)
    code = (await _seated(ada, "Ann", type="create", mode="arena"))["room"]
    relayed = [await open_client(p) for p in (p1, p1, p2)]  # three relayed, on two processes
    for i, c in enumerate(relayed):
        await c.hello(f"R{i}")
        await c.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
        await c.send({"type": "join", "room": code})
        await c.expect("joined")
    await relayed[-1].wait_for(lambda: len(relayed[-1].frames) > 10)
    bus = RedisBus.from_url(redis_server.url)
    try:
        async with bus.subscribe(keys.room_frames(code)) as sub:
            before = await _commands(redis_server.url)
            frames_before = len(relayed[0].frames)
            started = time.monotonic()
            count = 0
            while time.monotonic() - started < 2.0:
                if await sub.get(timeout=0.5) is not None:
                    count += 1
            elapsed = time.monotonic() - started
            frames = len(relayed[0].frames) - frames_before
            total = await _commands(redis_server.url) - before - 1
    finally:
        await bus.close()
    per_s = count / elapsed
    print(
        f"\nroom channel: {per_s:.1f} messages/s for 4 players on 3 processes; "
        f"Redis commands, whole cluster: {total / elapsed:.1f}/s"
    )
    # One message per state frame for the whole room (three relayed players on two processes
    # would make three per frame if it went per player), at most SEND_HZ (20) a second.
    assert count > 0 and abs(count - frames) <= 3, (count, frames)
    assert per_s <= 21
    assert all(c.gaps == 0 for c in relayed)


async def test_stats_and_events_are_shared_by_every_process(
    shared_cluster: list[ServerProcess], open_client: OpenClient, redis_server: RedisServer
) -> None:
    p0, p1, p2 = shared_cluster
    hal = await open_client(p0)
    code = (await _seated(hal, "Hal", type="create", mode="arena"))["room"]
    ivy = await open_client(p1)
    await ivy.hello("Ivy")
    await ivy.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
    await ivy.send({"type": "join", "room": code})
    await ivy.expect("joined")

    async def online_on_p2() -> set[str]:
        stats = await asyncio.to_thread(p2.get_json, "/api/stats")
        assert isinstance(stats, dict)
        return {p["name"] for p in stats["online"] if p.get("room") == code}

    deadline = time.monotonic() + 5
    while await online_on_p2() != {"Hal", "Ivy"}:
        assert time.monotonic() < deadline, await online_on_p2()
        await asyncio.sleep(0.3)
    board = await asyncio.to_thread(p1.get_json, "/api/leaderboard")
    assert isinstance(board, dict) and set(board) >= {"all_time", "today", "most_wins"}
    # The owner (p0) wrote both joins, the relayed one included, to the analytics stream.
    bus = RedisBus.from_url(redis_server.url)
    try:
        entries = await bus.xrange(STREAM, "0", 10_000)
    finally:
        await bus.close()
    joins = {
        e.player
        for e in map(Event.parse, (x.fields for x in entries))
        if e.kind is Kind.JOIN and e.room == code
    }
    assert joins == {"Hal", "Ivy"}
