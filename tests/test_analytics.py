"""Analytics: event records, aggregates on known input, a restartable consumer, the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.analytics import Consumer, Event, EventLog, Kind, Totals, from_game
from server.bus.redis import RedisBus
from server.game.view import Event as GameEvent
from server.game.view import EventKind, Fruit, GhostId
from tests.support.backends import Backend
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 21, 9, 10, tzinfo=UTC).timestamp()


def sample() -> list[Event]:
    """Two games in room r1 (9:xx and 10:xx UTC), one in r2, deaths, chat."""
    hour = 3600.0
    return [
        Event(Kind.JOIN, "r1", "ann", ts=T0),
        Event(Kind.JOIN, "r1", "bob", ts=T0),
        Event(Kind.JOIN, "r2", "cid", ts=T0),
        Event(Kind.GAME_START, "r1", ts=T0),
        Event(Kind.DEATH, "r1", "ann", detail="blinky", ts=T0 + 10),
        Event(Kind.DEATH, "r1", "bob", detail="blinky", ts=T0 + 20),
        Event(Kind.DEATH, "r1", "bob", detail="clyde", ts=T0 + 30),
        Event(Kind.CHAT, "r1", "ann", value=1, ts=T0 + 31),
        Event(Kind.CHAT, "r1", "bob", value=2, ts=T0 + 32),
        Event(Kind.SCORE, "r1", "ann", 1200, ts=T0 + 60),
        Event(Kind.SCORE, "r1", "bob", 800, ts=T0 + 60),
        Event(Kind.GAME_END, "r1", value=2, ts=T0 + 60),
        Event(Kind.JOIN, "r1", "ann", ts=T0 + hour),
        Event(Kind.SCORE, "r1", "ann", 3000, ts=T0 + hour),
        Event(Kind.GAME_END, "r1", value=1, ts=T0 + hour),
        Event(Kind.SCORE, "r2", "cid", 400, ts=T0 + hour + 5),
        Event(Kind.GAME_END, "r2", value=1, ts=T0 + hour + 5),
        Event(Kind.DEATH, "r2", "cid", detail="pinky", ts=T0 + hour + 5),
    ]


EXPECTED = {
    "events": 18,
    "games": 3,
    "games_per_hour": {"2026-11-21 09:00": 1, "2026-11-21 10:00": 2},
    "scores": {
        "count": 4,
        "average": 1350.0,
        "best": [
            {"player": "ann", "score": 3000},
            {"player": "bob", "score": 800},
            {"player": "cid", "score": 400},
        ],
    },
    "deaths_by_ghost": {"blinky": 2, "clyde": 1, "pinky": 1},
    "busiest_rooms": [{"room": "r1", "joins": 3}, {"room": "r2", "joins": 1}],
    "chat_lines": 3,
    "events_by_kind": {
        "chat": 2,
        "death": 4,
        "game_end": 3,
        "game_start": 1,
        "join": 4,
        "score": 4,
    },
}


def test_event_round_trips_through_stream_fields() -> None:
    event = Event(Kind.DEATH, "r1", "ännë", 3, "blinky", T0 + 0.25)
    fields = event.fields()
    assert all(isinstance(v, bytes) for v in fields.values())
    assert Event.parse(fields) == event
    with pytest.raises(ValueError):
        Event.parse({"kind": b"nonsense"})
    with pytest.raises(ValueError):
        Event.parse({"room": b"r1"})


def test_notable_game_events_are_translated() -> None:
    names = {1: "ann", 2: "bob"}
    steps = [
        GameEvent(EventKind.DOT_EATEN, 5, player=1, value=3, points=10),
        GameEvent(EventKind.PLAYER_CAUGHT, 6, player=2, other=int(GhostId.INKY)),
        GameEvent(EventKind.GHOST_EATEN, 7, player=1, other=int(GhostId.PINKY), points=400),
        GameEvent(EventKind.FRUIT_EATEN, 8, player=1, value=int(Fruit.CHERRIES), points=100),
        GameEvent(EventKind.LEVEL_CLEARED, 9, value=2),
    ]
    assert from_game(steps, "r9", names, T0) == [
        Event(Kind.DEATH, "r9", "bob", 0, "inky", T0),
        Event(Kind.GHOST_EATEN, "r9", "ann", 400, "pinky", T0),
        Event(Kind.FRUIT, "r9", "ann", 100, "cherries", T0),
        Event(Kind.LEVEL_CLEAR, "r9", "", 2, "", T0),
    ]


def test_aggregates_on_known_input() -> None:
    assert Totals.of(sample()).report() == EXPECTED
    assert Totals().report()["scores"] == {"count": 0, "average": 0, "best": []}


async def test_consumer_aggregates_what_was_recorded(backend: Backend) -> None:
    log = EventLog(backend.bus, maxlen=1000)
    assert await log.record(*sample())
    consumer = Consumer(backend.peer(), batch=5)
    await consumer.start()
    assert await consumer.drain() == 18
    assert (await consumer.store.load()).report() == EXPECTED
    assert await backend.bus.xpending(log.stream, consumer.group) == []


async def test_consumer_restarts_where_it_left_off(backend: Backend) -> None:
    events = sample()
    log = EventLog(backend.bus)
    await log.record(*events[:10])
    first = Consumer(backend.bus, name="worker")
    await first.start()
    assert await first.drain() == 10

    # more events arrive; the worker takes a batch and dies before storing or acknowledging it
    await log.record(*events[10:])
    died_with = await backend.bus.xreadgroup(log.stream, "analytics", "worker", count=3)
    assert len(died_with) == 3

    restarted = Consumer(backend.peer(), name="worker")
    await restarted.start()  # the group exists already: no rewind to the start
    assert await restarted.step() == 3  # the unacknowledged batch comes back first
    assert await restarted.drain() == 5  # then the rest, each record once
    assert (await restarted.store.load()).report() == EXPECTED

    again = Consumer(backend.peer(), name="worker")
    await again.start()
    assert await again.drain() == 0  # everything was acknowledged


async def test_a_dead_consumers_records_are_claimed(backend: Backend) -> None:
    log = EventLog(backend.bus)
    await log.record(*sample())
    dead = Consumer(backend.bus, name="dead")
    await dead.start()
    await backend.bus.xreadgroup(log.stream, "analytics", "dead", count=18)  # never acked
    other = Consumer(backend.peer(), name="other", claim_idle_s=0.2)
    assert await other.drain() == 0  # nothing new, and the held records are not idle yet
    await backend.advance(0.3)
    assert await other.drain() == 18
    assert (await other.store.load()).report() == EXPECTED


async def test_recording_while_redis_is_down_is_dropped_not_raised(
    own_redis: RedisServer,
) -> None:
    bus = RedisBus.from_url(own_redis.url)
    try:
        log = EventLog(bus, wall_clock=lambda: T0)
        assert await log.record(Event(Kind.JOIN, "r1", "ann"))
        own_redis.stop(kill=True)
        assert not await log.record(Event(Kind.JOIN, "r1", "bob"), Event(Kind.CHAT, "r1"))
        assert log.dropped == 2
        own_redis.start()
        assert await log.record(Event(Kind.LEAVE, "r1", "ann"))
        (entry,) = await bus.xrange(log.stream)
        assert Event.parse(entry.fields) == Event(Kind.LEAVE, "r1", "ann", ts=T0)
    finally:
        await bus.close()


def _command(*args: str, redis_url: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "server.analytics", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_command_reports_an_unreachable_redis() -> None:
    from tests.support.redis_server import free_port

    done = _command(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 1
    assert "Redis is unavailable" in done.stderr
    assert "Traceback" not in done.stderr


def test_command_explains_it_needs_redis_url() -> None:
    done = _command()
    assert done.returncode == 2
    assert "needs REDIS_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


async def test_command_prints_aggregates_and_resumes(redis_url: str) -> None:
    bus = RedisBus.from_url(redis_url)
    try:
        log = EventLog(bus)
        events = sample()
        await log.record(*events[:12])
        first = _command("--consumer", "cli", redis_url=redis_url)
        assert first.returncode == 0, first.stderr
        assert "12 new in this run" in first.stdout
        assert "2026-11-21 09:00  1" in first.stdout
        assert "deaths by ghost: blinky 2, clyde 1" in first.stdout

        await log.record(*events[12:])
        second = _command("--consumer", "cli", "--json", redis_url=redis_url)
        assert second.returncode == 0, second.stderr
        report = json.loads(second.stdout)
        assert report.pop("this_run") == 6
        assert report == EXPECTED
    finally:
        await bus.close()
