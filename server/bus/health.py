"""Outage bookkeeping for a Redis bus: one log line when it goes away, one when it is back."""

from __future__ import annotations

import logging
import time

from server.metrics import STATS

log = logging.getLogger("server.bus")


class Health:
    """Tracks whether the backend is reachable; logs once when it goes away and once when back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down_since: float | None = None
        self.outages = 0

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, exc: BaseException) -> None:
        """Record a connection failure; logs only the first one of an outage."""
        STATS.redis_errors += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.outages += 1
            log.warning(
                "shared backend %s is unreachable (%s); operations raise BusUnavailable until it "
                "returns, subscriptions will resubscribe by themselves",
                self.name,
                exc or type(exc).__name__,
            )

    def succeeded(self) -> None:
        """Record a working call; logs the end of an outage."""
        if self.down_since is not None:
            log.warning(
                "shared backend %s is reachable again after %.1f s",
                self.name,
                time.monotonic() - self.down_since,
            )
            self.down_since = None
