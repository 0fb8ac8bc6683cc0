"""Analytics: notable game events on a capped stream, and a consumer that aggregates them."""

from __future__ import annotations

from server.analytics.aggregate import Totals, TotalsStore
from server.analytics.consumer import Consumer
from server.analytics.events import MAXLEN, STREAM, Event, EventLog, Kind, from_game

__all__ = [
    "MAXLEN",
    "STREAM",
    "Consumer",
    "Event",
    "EventLog",
    "Kind",
    "Totals",
    "TotalsStore",
    "from_game",
]
