"""Keep a lease alive in the background and say as soon as it may be lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.bus.base import Bus, BusUnavailable, Lease

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews `lease` every `ttl / 3` seconds; `lost` is set once it can no longer be trusted.

    Lost means: a renewal was refused (expired or taken over by a higher epoch), or renewals
    kept failing (backend down) until the last good one would have expired. Whoever holds the
    lease must stop acting as owner when `lost` is set. Call `stop()` to end (and release).
    """

    def __init__(self, bus: Bus, lease: Lease, ttl: float, interval: float | None = None) -> None:
        self.bus = bus
        self.lease = lease
        self.ttl = ttl
        self.interval = interval if interval is not None else ttl / 3
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> LeaseKeeper:
        if self._task is None:
            self._task = asyncio.create_task(self._keep(), name=f"lease:{self.lease.key}")
        return self

    async def stop(self, release: bool = True) -> None:
        """Stop renewing; with `release`, give the lease up now (unless already lost)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if release and not self.lost.is_set():
            with contextlib.suppress(BusUnavailable):
                await self.bus.release_lease(self.lease)
            self.lost.set()

    async def _keep(self) -> None:
        loop = asyncio.get_running_loop()
        good_until = loop.time() + self.ttl
        while True:
            await asyncio.sleep(self.interval)
            try:
                renewed = await self.bus.renew_lease(self.lease, self.ttl)
            except BusUnavailable:
                if loop.time() + self.interval < good_until:
                    continue
                log.warning("lease %s may have expired while the bus was down", self.lease.key)
                self.lost.set()
                return
            if not renewed:
                log.warning("lease %s epoch %d was lost", self.lease.key, self.lease.epoch)
                self.lost.set()
                return
            good_until = loop.time() + self.ttl
