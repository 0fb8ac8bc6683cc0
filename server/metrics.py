"""Prometheus metrics on a separate, opt-in port (METRICS_PORT; off by default).

Hot paths only bump plain integers in `STATS`; the collector reads them and the live app
state at scrape time, inside the event loop, so nothing is shared with another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass
class Stats:
    """Process-wide counters, bumped where things happen."""

    state_frames_sent: int = 0
    state_frames_skipped: int = 0
    state_bytes_sent: int = 0
    messages_received: int = 0
    errors_sent: Counter[str] = field(default_factory=Counter)
    rooms_failed: int = 0


STATS = Stats()


@dataclass(frozen=True)
class Gauges:
    """Live values read at scrape time."""

    connections: int
    rooms: int
    players: int
    spectators: int
    ticks_dropped: int
    tick_late_max_s: float


class AppCollector(Collector):
    def __init__(self, gauges: Callable[[], Gauges]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        g = self._gauges()
        for name, doc, value in (
            ("pacarena_connections", "Open websocket connections", g.connections),
            ("pacarena_rooms", "Rooms in this process", g.rooms),
            ("pacarena_players", "Seated players (connected or held)", g.players),
            ("pacarena_spectators", "Spectators", g.spectators),
            ("pacarena_tick_late_max_seconds", "Worst tick lateness seen", g.tick_late_max_s),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
        for name, doc, count in (
            ("pacarena_ticks_dropped", "Ticks skipped when far behind", g.ticks_dropped),
            ("pacarena_state_frames_sent", "State frames written", STATS.state_frames_sent),
            (
                "pacarena_state_frames_skipped",
                "State frames skipped (slow client)",
                STATS.state_frames_skipped,
            ),
            ("pacarena_state_bytes_sent", "State frame bytes written", STATS.state_bytes_sent),
            ("pacarena_messages_received", "Client messages received", STATS.messages_received),
            ("pacarena_rooms_failed", "Rooms closed after an internal error", STATS.rooms_failed),
        ):
            yield CounterMetricFamily(name, doc, value=count)
        errors = CounterMetricFamily(
            "pacarena_errors_sent", "Error replies by code", labels=["code"]
        )
        for code, n in sorted(STATS.errors_sent.items()):
            errors.add_metric([code], n)
        yield errors


def registry_for(gauges: Callable[[], Gauges]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(gauges))
    return registry


async def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> asyncio.Server:
    """A minimal HTTP endpoint: GET /metrics answers the exposition text; anything else 404."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            if head.startswith(b"GET ") and target.split(b"?")[0] == b"/metrics":
                body, status = generate_latest(registry), b"200 OK"
            else:
                body, status = b"not found\n", b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; version=0.0.4\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)
