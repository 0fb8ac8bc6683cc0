"""Reads the event stream with a consumer group: acknowledged, restartable, each record counted
once (a batch's totals and its acknowledgement are one bus step)."""

from __future__ import annotations

import logging

from server.analytics.aggregate import Totals, TotalsStore
from server.analytics.events import STREAM, Event
from server.bus import Bus, Entry

log = logging.getLogger(__name__)

GROUP = "analytics"
CLAIM_IDLE_S = 60.0  # records a crashed consumer held this long are taken over


class Consumer:
    """Folds new stream records into the stored totals and acknowledges them, in one step.

    Call `start()` once, then `step()` until it returns 0 (or forever, with `block`).
    A consumer that died before that step gets its records again when it restarts under the
    same name (or another consumer claims them once idle `claim_idle_s`); one that died after
    it has nothing left to redo: each record is counted once.
    """

    def __init__(
        self,
        bus: Bus,
        *,
        name: str = "analytics-1",
        group: str = GROUP,
        stream: str = STREAM,
        batch: int = 500,
        claim_idle_s: float = CLAIM_IDLE_S,
        store: TotalsStore | None = None,
    ) -> None:
        self._bus = bus
        self.name = name
        self.group = group
        self.stream = stream
        self._batch = batch
        self._claim_idle_s = claim_idle_s
        self.store = store or TotalsStore(bus, f"analytics:totals:{group}")
        self.processed = 0
        self.malformed = 0

    async def start(self) -> None:
        """Create the group (reading from the stream's start) if it does not exist yet."""
        await self._bus.xgroup_create(self.stream, self.group, start="0")

    async def step(self, block: float | None = None) -> int:
        """Process one batch: own unacknowledged records first, then idle ones, then new ones."""
        entries = await self._bus.xreadgroup(
            self.stream, self.group, self.name, self._batch, pending=True
        )
        if not entries:
            entries = await self._bus.xclaim_idle(
                self.stream, self.group, self.name, self._claim_idle_s, self._batch
            )
        if not entries:
            entries = await self._bus.xreadgroup(
                self.stream, self.group, self.name, self._batch, block
            )
        if entries:
            ids = [e.id for e in entries]
            await self.store.add_and_ack(self._fold(entries), self.stream, self.group, ids)
            self.processed += len(entries)
        return len(entries)

    async def drain(self) -> int:
        """Process everything available now; returns how many records."""
        total = 0
        while n := await self.step():
            total += n
        return total

    def _fold(self, entries: list[Entry]) -> Totals:
        totals = Totals()
        for entry in entries:
            try:
                totals.add(Event.parse(entry.fields))
            except ValueError as exc:
                self.malformed += 1
                log.warning("skipping stream record %s: %s", entry.id, exc)
        return totals
