"""Keep a process's leases alive in the background, all in one bus call per period."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.bus.base import Bus, BusUnavailable, Lease

log = logging.getLogger(__name__)


class HeldLease:
    """One lease of a `LeaseGroup`; `lost` is set once it can no longer be trusted."""

    __slots__ = ("good_until", "lease", "lost")

    def __init__(self, lease: Lease, good_until: float) -> None:
        self.lease = lease
        self.good_until = good_until  # loop time: the last good renewal expires then
        self.lost = asyncio.Event()


class LeaseGroup:
    """Renews every lease it holds in one bus call every `ttl / 3` seconds.

    A lease is lost when its renewal was refused (expired, or taken over under a higher epoch)
    or when renewals kept failing (backend down) until its last good one would have expired.
    Whoever holds a lease must stop acting as its owner when its `lost` is set; each lease is
    judged on its own, so one room losing its lease leaves the others held. `drop()` stops
    renewing a lease, `release()` also gives it up now.
    """

    def __init__(self, bus: Bus, ttl: float, interval: float | None = None) -> None:
        self.bus = bus
        self.ttl = ttl
        self.interval = interval if interval is not None else ttl / 3
        self._held: dict[Lease, HeldLease] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._held)

    def start(self) -> LeaseGroup:
        if self._task is None:
            self._task = asyncio.create_task(self._keep(), name="leases")
        return self

    async def stop(self) -> None:
        """Stop renewing (nothing is released: the leases lapse by themselves)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add(self, lease: Lease) -> HeldLease:
        """Keep `lease` (just acquired, so good for `ttl` from now) until dropped or lost."""
        held = HeldLease(lease, asyncio.get_running_loop().time() + self.ttl)
        self._held[lease] = held
        return held

    def drop(self, held: HeldLease) -> None:
        """Stop renewing this lease; it stays with this process until it expires."""
        if self._held.get(held.lease) is held:
            del self._held[held.lease]

    async def release(self, held: HeldLease) -> None:
        """Stop renewing and give the lease up now (unless already lost)."""
        self.drop(held)
        if not held.lost.is_set():
            with contextlib.suppress(BusUnavailable):
                await self.bus.release_lease(held.lease)
            held.lost.set()

    async def renew(self) -> None:
        """One round: every lease held, in one call; marks the lost ones."""
        held = list(self._held.values())
        if not held:
            return
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            renewed = await self.bus.renew_leases([h.lease for h in held], self.ttl)
        except BusUnavailable:
            now = loop.time()
            for h in held:
                if now + self.interval >= h.good_until and self._held.get(h.lease) is h:
                    log.warning("lease %s may have expired while the bus was down", h.lease.key)
                    self._lose(h)
            return
        for h, done in zip(held, renewed, strict=True):
            if self._held.get(h.lease) is not h:
                continue  # dropped or released meanwhile
            if done:
                h.good_until = sent + self.ttl
            else:
                log.warning("lease %s epoch %d was lost", h.lease.key, h.lease.epoch)
                self._lose(h)

    def _lose(self, held: HeldLease) -> None:
        del self._held[held.lease]
        held.lost.set()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.renew()
