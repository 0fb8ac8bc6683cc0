"""Finished games reach the leaderboard once, events reach the stream, /api/* serves them."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from server.analytics.events import STREAM, Event, Kind
from server.app import App
from server.room import Room
from tests.server.conftest import OpenClient, StartServer, make_config
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer


def get_json(app: App, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{app.port}{path}", timeout=3) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.read())


async def api(app: App, path: str) -> Any:
    return await asyncio.to_thread(get_json, app, path)


async def playing_room(app: App, client: OpenClient) -> tuple[Room, Any]:
    c = await client(app)
    await c.hello("Ada")
    await c.send({"type": "create", "mode": "classic"})
    await c.expect("joined")
    await c.expect("room_state", lambda m: m["state"] == "playing")
    (room,) = app.registry.rooms.values()
    return room, c


async def events_of(app: App) -> list[Event]:
    entries = await app.shared.bus.xrange(STREAM, "0", 1000)
    return [Event.parse(e.fields) for e in entries]


async def test_game_over_is_recorded_once_even_when_reported_twice(
    server: App, client: OpenClient
) -> None:
    room, c = await playing_room(server, client)
    room._game_over()
    await c.expect("game_over")
    room._game_over()  # the same game again (as a take-over replaying its end would)
    await asyncio.sleep(0.2)
    stats = await api(server, "/api/stats")
    assert stats["games_played"] == 1
    assert [p["name"] for p in stats["recent_games"][0]["players"]] == ["Ada"]
    board = await api(server, "/api/leaderboard")
    assert board["most_games"] == [{"rank": 1, "name": "Ada", "games": 1}]
    assert board["all_time"][0]["name"] == "Ada"
    kinds = [e.kind for e in await events_of(server)]
    assert Kind.JOIN in kinds and Kind.GAME_START in kinds and Kind.GAME_END in kinds


async def test_events_of_many_rooms_go_out_together_in_order(
    server: App, client: OpenClient
) -> None:
    room, _client = await playing_room(server, client)
    await asyncio.sleep(0.3)  # the join and the start have gone out
    before = len(await events_of(server))
    recorder = server.shared.recorder
    tasks = len(recorder._tasks)
    for i in range(50):  # as many rooms reporting in the same moment
        recorder.chatted(room, f"p{i}")
    assert len(recorder._tasks) == tasks + 1  # one batch on its way, not fifty writes
    assert len(await events_of(server)) == before  # it waits a moment for more
    await asyncio.sleep(0.3)
    new = (await events_of(server))[before:]
    assert [e.player for e in new] == [f"p{i}" for i in range(50)]
    assert {e.kind for e in new} == {Kind.CHAT}


async def test_stats_show_who_is_online(server: App, client: OpenClient) -> None:
    _, c = await playing_room(server, client)
    other = await client(server)
    await other.hello("Bea")
    stats = await api(server, "/api/stats")
    names = sorted(p["name"] for p in stats["online"])
    assert stats["players_online"] == 2 and names == ["Ada", "Bea"]
    await other.close()
    await asyncio.sleep(0.1)
    stats = await api(server, "/api/stats")
    assert [p["name"] for p in stats["online"]] == ["Ada"]
    assert c is not None


async def test_a_stopping_process_marks_its_players_offline_in_one_call() -> None:
    app = App(make_config())
    await app.start()
    clients = []
    online: set[str] = set()
    removed: list[tuple[str, ...]] = []
    try:
        for i in range(20):
            clients.append(await Client.open(app.port))
            await clients[-1].hello(f"P{i}")
        await app.shared.refresh_presence()
        assert (await app.shared.leaderboard.stats())["players_online"] == 20
        online = set(app.shared._online)
        bus = app.shared.bus
        remove = bus.presence_remove

        async def counted(group: str, *members: str) -> None:  # the real call, counted
            removed.append(members)
            await remove(group, *members)

        bus.presence_remove = counted  # type: ignore[method-assign]
    finally:
        await app.stop()
        for c in clients:
            await c.close()
    assert sorted(m for call in removed for m in call) == sorted(online)
    assert len(removed) <= 2  # departures seen by a last refresh, then the rest: not 20 calls


async def test_a_game_ending_while_redis_is_down_is_recorded_when_it_returns(
    start_server: StartServer, own_redis: RedisServer, client: OpenClient
) -> None:
    app = await start_server(redis_url=own_redis.url)
    room, c = await playing_room(app, client)
    own_redis.stop(kill=True)
    room._game_over()
    await c.expect("game_over")
    await asyncio.sleep(0.3)
    own_redis.start()
    for _ in range(50):
        if (await app.shared.leaderboard.games_total()) == 1:
            break
        await asyncio.sleep(0.1)
    assert await app.shared.leaderboard.games_total() == 1
    assert (await api(app, "/api/leaderboard"))["all_time"][0]["name"] == "Ada"
