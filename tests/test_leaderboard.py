"""Leaderboard over both bus implementations: boards, idempotent recording, presence."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from server.bus import BusUnavailable
from server.bus.redis import RedisBus
from server.leaderboard import GameResult, Leaderboard, PlayerResult, day_of
from tests.support.backends import Backend
from tests.support.redis_server import RedisServer

DAY1 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()


def game(game_id: str, ended_at: float, *players: tuple[str, int, bool]) -> GameResult:
    return GameResult(
        game_id=game_id,
        room="r1",
        ended_at=ended_at,
        players=tuple(PlayerResult(name, score, won) for name, score, won in players),
        level=2,
        duration_s=95.5,
    )


def board(backend: Backend, now: float = DAY2, online_ttl_s: float = 0.2) -> Leaderboard:
    return Leaderboard(backend.bus, wall_clock=lambda: now, online_ttl_s=online_ttl_s)


async def test_boards_after_some_games(backend: Backend) -> None:
    lb = board(backend)
    assert await lb.record_game(game("g1", DAY1, ("ann", 1200, True), ("bob", 800, False)))
    assert await lb.record_game(game("g2", DAY2, ("ann", 300, False), ("bob", 2500, True)))
    assert await lb.record_game(game("g3", DAY2, ("cid", 900, True), ("ann", 900, False)))

    assert await lb.high_scores() == [
        {"rank": 1, "name": "bob", "score": 2500},
        {"rank": 2, "name": "ann", "score": 1200},
        {"rank": 3, "name": "cid", "score": 900},
    ]
    today = await lb.daily_high_scores()
    assert [(r["name"], r["score"]) for r in today] == [("bob", 2500), ("cid", 900), ("ann", 900)]
    assert [r["rank"] for r in today] == [1, 2, 2]  # a tie shares its rank
    yesterday = await lb.daily_high_scores(day_of(DAY1))
    assert [(r["name"], r["score"]) for r in yesterday] == [("ann", 1200), ("bob", 800)]
    wins = await lb.most_wins()
    assert sorted((r["name"], r["wins"]) for r in wins) == [("ann", 1), ("bob", 1), ("cid", 1)]
    assert (await lb.most_games(1)) == [{"rank": 1, "name": "ann", "games": 3}]
    assert await lb.games_total() == 3
    assert await lb.games_on() == 2
    assert await lb.games_on(day_of(DAY1)) == 1
    recent = await lb.recent_games()
    assert [g["game_id"] for g in recent] == ["g3", "g2", "g1"]
    assert recent[1]["players"][0] == {"name": "bob", "score": 2500, "won": True}


async def test_recording_twice_counts_once(backend: Backend) -> None:
    lb = board(backend)
    result = game("g-retry", DAY2, ("ann", 700, True))
    assert await lb.record_game(result)
    before = (await lb.leaderboard(), await lb.stats())
    # a retry after a timeout, and the same game reported by a second process
    assert not await lb.record_game(result)
    other_process = Leaderboard(backend.peer(), wall_clock=lambda: DAY2)
    assert not await other_process.record_game(result)
    assert (await lb.leaderboard(), await lb.stats()) == before
    assert await lb.most_games() == [{"rank": 1, "name": "ann", "games": 1}]
    assert await lb.games_total() == 1


async def test_concurrent_duplicates_count_once(backend: Backend) -> None:
    lbs = [board(backend)] + [Leaderboard(backend.peer()) for _ in range(3)]
    result = game("g-race", DAY2, ("ann", 100, True))
    outcomes = await asyncio.gather(*(lb.record_game(result) for lb in lbs))
    assert sorted(outcomes) == [False, False, False, True]
    assert await lbs[0].most_wins() == [{"rank": 1, "name": "ann", "wins": 1}]


async def test_online_players_expire_unless_refreshed(backend: Backend) -> None:
    lb = board(backend)
    await lb.player_online("p1", "Ann", "r1")
    await lb.player_online("p2", "bob", "r2")
    assert await lb.online() == [
        {"id": "p1", "name": "Ann", "room": "r1"},
        {"id": "p2", "name": "bob", "room": "r2"},
    ]
    await backend.advance(0.12)
    await lb.player_online("p2", "bob", "r3")  # bob refreshes, Ann's process died
    await backend.advance(0.12)
    assert await lb.online() == [{"id": "p2", "name": "bob", "room": "r3"}]
    await lb.player_offline("p2")
    assert (await lb.stats())["players_online"] == 0


async def test_many_players_marked_online_in_one_call(backend: Backend) -> None:
    # Redis counts the TTL in real time: long enough that writing 1,500 entries and a stall
    # of the machine do not expire them before they are read
    lb = board(backend, online_ttl_s=1.0)
    await lb.players_online({f"p{i}": (f"n{i}", f"r{i % 3}") for i in range(1500)})
    await lb.players_online({})
    online = await lb.online()
    assert len(online) == 1500
    assert {"id": "p7", "name": "n7", "room": "r1"} in online
    await backend.advance(0.6)
    await lb.players_online({"p7": ("n7", "r2")})
    await backend.advance(0.6)
    assert await lb.online() == [{"id": "p7", "name": "n7", "room": "r2"}]
    await lb.players_online({f"p{i}": (f"n{i}", "r") for i in range(1500)})
    await lb.players_offline(f"p{i}" for i in range(1, 1500))  # more than one script batch
    assert await lb.online() == [{"id": "p0", "name": "n0", "room": "r"}]


async def test_read_models_are_json(backend: Backend) -> None:
    lb = board(backend)
    await lb.record_game(game("g1", DAY2, ("ann", 10, True)))
    await lb.player_online("p1", "ann", "r1")
    leaderboard = json.loads(json.dumps(await lb.leaderboard()))
    stats = json.loads(json.dumps(await lb.stats()))
    assert leaderboard["today"] == {
        "day": "2026-11-21",
        "scores": [{"rank": 1, "name": "ann", "score": 10}],
    }
    assert leaderboard["all_time"][0]["score"] == 10
    assert stats["games_played"] == 1
    assert stats["players_online"] == 1
    assert stats["recent_games"][0]["room"] == "r1"


async def test_empty_boards(backend: Backend) -> None:
    lb = board(backend)
    assert await lb.leaderboard() == {
        "all_time": [],
        "today": {"day": "2026-11-21", "scores": []},
        "most_wins": [],
        "most_games": [],
    }
    assert await lb.stats() == {
        "games_played": 0,
        "games_today": 0,
        "players_online": 0,
        "online": [],
        "recent_games": [],
    }


async def test_recent_games_are_capped(backend: Backend) -> None:
    lb = Leaderboard(backend.bus, recent_cap=3)
    for i in range(5):
        await lb.record_game(game(f"g{i}", DAY2, ("ann", i, False)))
    assert [g["game_id"] for g in await lb.recent_games(10)] == ["g4", "g3", "g2"]


async def test_unavailable_bus_is_reported_and_retry_records_once(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    redis_server.stop(kill=True)
    lb = Leaderboard(RedisBus.from_url(redis_server.url))
    result = game("g-outage", DAY2, ("ann", 50, True))
    try:
        try:
            await lb.record_game(result)
            raise AssertionError("recording must fail while Redis is down")
        except BusUnavailable:
            pass
        redis_server.start()
        assert await lb.record_game(result)  # the caller's retry goes through once Redis is back
        assert not await lb.record_game(result)
        assert await lb.games_total() == 1
    finally:
        if not redis_server.running:
            redis_server.start()
        await lb._bus.close()
