"""Rooms' finished games to the leaderboard and notable events to the analytics stream.

Rooms are synchronous and the bus is not: each hook queues its write as a task, so a slow or
absent backend never stalls a tick. A finished game is retried a few times (its id makes the
write idempotent); analytics events are best effort (dropped ones are counted) and go out
together, one call every BATCH_S at most: a busy process has notable events (deaths, ghosts
eaten, joins) many times a second, and a call and a task for each cost more than the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from server.analytics.events import Event, EventLog, Kind, any_notable, from_game
from server.bus import BusUnavailable
from server.game.view import ArenaView
from server.game.view import Event as GameEvent
from server.leaderboard import GameResult, Leaderboard, PlayerResult
from server.observer import RoomObserver
from server.room import Room

log = logging.getLogger("server.records")

RECORD_TRIES = 5
RETRY_S = 1.0
BATCH_S = 0.1


class Recorder(RoomObserver):
    """Writes what rooms report to the leaderboard and the event log."""

    def __init__(self, leaderboard: Leaderboard, events: EventLog) -> None:
        self.leaderboard = leaderboard
        self.events = events
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started: dict[str, float] = {}  # game id -> unix start time
        self._pending: list[Event] = []  # analytics events for the next batch
        self._batching = False

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> bool:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (a room driven by hand in a unit test)
            coro.close()
            return False
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _log(self, *events: Event) -> None:
        self._pending += events
        if not self._batching:
            self._batching = self._spawn(self._send_batch())
            if not self._batching:
                self._pending.clear()

    async def _send_batch(self) -> None:
        await asyncio.sleep(BATCH_S)
        batch, self._pending, self._batching = self._pending, [], False
        await self.events.record(*batch)

    def _event(self, kind: Kind, room: Room, player: str = "", value: int = 0) -> None:
        self._log(Event(kind, room.code, player, value, "", time.time()))

    def game_started(self, room: Room) -> None:
        self._started[room.game_id] = time.time()
        self._event(Kind.GAME_START, room, value=len(room.seats))

    def game_events(self, room: Room, events: list[GameEvent]) -> None:
        if not any_notable(events):  # nearly every step: pellets only
            return
        names = {s.id: s.name for s in room.seats.values()}
        notable = from_game(events, room.code, names, time.time())
        if notable:
            self._log(*notable)

    def game_over(self, room: Room, view: ArenaView) -> None:
        now = time.time()
        names = {s.id: s.name for s in room.seats.values()}
        players = tuple(
            PlayerResult(names.get(p.id, f"player {p.id}"), p.score, p.id == view.winner)
            for p in view.players
        )
        started = self._started.pop(room.game_id, now)
        result = GameResult(room.game_id, room.code, now, players, view.level, now - started)
        self._spawn(self._record(result))
        records = [Event(Kind.GAME_END, room.code, "", len(players), "", now)]
        records += [Event(Kind.SCORE, room.code, p.name, p.score, "", now) for p in players]
        self._log(*records)

    async def _record(self, result: GameResult) -> None:
        for attempt in range(RECORD_TRIES):
            try:
                await self.leaderboard.record_game(result)
                return
            except BusUnavailable:
                if attempt + 1 < RECORD_TRIES:
                    await asyncio.sleep(RETRY_S)
        log.warning("game not recorded: the bus is down", extra={"game": result.game_id})

    def player_joined(self, room: Room, name: str) -> None:
        self._event(Kind.JOIN, room, name)

    def player_left(self, room: Room, name: str) -> None:
        self._event(Kind.LEAVE, room, name)

    def chatted(self, room: Room, name: str) -> None:
        self._event(Kind.CHAT, room, name, 1)

    async def close(self) -> None:
        """Wait briefly for queued writes (a clean shutdown should not lose a finished game)."""
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(list(self._tasks), timeout=2.0)
