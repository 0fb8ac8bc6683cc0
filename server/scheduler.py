"""One drift-free fixed-step scheduler for every room.

Tick n is due at `start + n / hz` on a monotonic clock, so rounding and sleep jitter never
accumulate. A late wake-up runs the missed ticks back to back (at most `max_catch_up` of them)
and then calls each room's `flush()` once; simulated time never runs faster than the clock.
If the process falls further behind than that, the missed ticks are dropped (and counted)
instead of spiralling. A room that raises is removed and told why; the others keep ticking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("server.scheduler")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Ticked(Protocol):
    """What the scheduler drives; `tick()` once per simulation step, `flush()` after a batch."""

    @property
    def key(self) -> str: ...

    def tick(self, n: int, now: float) -> None: ...

    def flush(self, n: int, now: float) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


class Scheduler:
    """Steps every registered room at `hz` against `clock` (injectable for tests)."""

    def __init__(
        self,
        hz: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_catch_up: int = 10,
    ) -> None:
        self.hz = hz
        self.period = 1.0 / hz
        self.clock = clock
        self.sleep = sleep
        self.max_catch_up = max_catch_up
        self.rooms: dict[str, Ticked] = {}
        self.n = 0  # the next tick to run
        self.start = clock()
        self.dropped = 0  # ticks skipped because we were too far behind
        self.late_max = 0.0  # worst lateness seen of a tick's start, in seconds
        self._stopped = False

    def add(self, room: Ticked) -> None:
        self.rooms[room.key] = room

    def remove(self, key: str) -> None:
        self.rooms.pop(key, None)

    def due(self, n: int) -> float:
        return self.start + n * self.period

    def now_tick(self) -> float:
        """The scheduled time of the next tick (rooms use tick time, not the wall clock)."""
        return self.due(self.n)

    def run_due(self) -> int:
        """Run every tick that is due now (bounded); return how many ran."""
        now = self.clock()
        ran = 0
        behind = int((now - self.due(self.n)) // self.period) + 1 if now >= self.due(self.n) else 0
        if behind > self.max_catch_up:
            skip = behind - self.max_catch_up
            self.dropped += skip
            # Move the origin rather than n so tick numbers stay consecutive for the rooms.
            self.start += skip * self.period
            log.warning("scheduler behind", extra={"dropped_ticks": skip})
        while ran < self.max_catch_up and self.due(self.n) <= now:
            self.late_max = max(self.late_max, now - self.due(self.n))
            self._each("tick", self.n, self.due(self.n))
            self.n += 1
            ran += 1
        if ran:
            self._each("flush", self.n - 1, self.due(self.n - 1))
        return ran

    def _each(self, what: str, n: int, t: float) -> None:
        for key, room in list(self.rooms.items()):
            try:
                if what == "tick":
                    room.tick(n, t)
                else:
                    room.flush(n, t)
            except Exception as exc:
                log.exception("room failed", extra={"room": key, "tick": n})
                self.rooms.pop(key, None)
                try:
                    room.failed(exc)
                except Exception:
                    log.exception("room failure handler failed", extra={"room": key})

    async def run(self) -> None:
        """Tick until `stop()`; sleeps until the next due tick."""
        if self.n == 0:
            self.start = self.clock()  # time spent before running is not a backlog
        while not self._stopped:
            self.run_due()
            delay = self.due(self.n) - self.clock()
            await self.sleep(max(0.0, delay))

    def stop(self) -> None:
        self._stopped = True
