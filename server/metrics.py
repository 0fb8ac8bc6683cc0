"""Prometheus metrics on a separate, opt-in port (METRICS_PORT; off by default).

Hot paths only bump plain integers in `STATS`; the collector reads them and the live app
state at scrape time, inside the event loop, so nothing is shared with another thread.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from server import gamecore

# Tick timing buckets in seconds: fine below one tick (16.7 ms at 60 Hz), where the
# difference between a healthy and a struggling loop shows, coarse above it.
TICK_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02,
    0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip

# Intent to state frame, in seconds: 2.5 ms steps, then 1 ms steps around one 20 Hz send
# period (50 ms), where a client that answers each frame at once puts most of its intents.
INTENT_BUCKETS = (
    *(i / 400 for i in range(1, 18)),  # 2.5 ... 42.5 ms
    *(i / 1000 for i in range(43, 61)),  # 43 ... 60 ms
    0.075, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip


class Histogram:
    """A fixed-bucket histogram cheap enough for every tick: one bisect and two adds."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = TICK_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last slot is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus buckets: (upper bound, observations at or below it), ending with +Inf."""
        out, running = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass
class Stats:
    """Process-wide counters, bumped where things happen."""

    state_frames_sent: int = 0
    state_frames_skipped: int = 0
    state_bytes_sent: int = 0
    messages_received: int = 0
    messages_sent: int = 0  # text (JSON) messages: control and chat
    text_bytes_sent: int = 0
    errors_sent: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0  # messages refused by the per-connection rate limit
    closed_for: Counter[str] = field(default_factory=Counter)  # our closes, by close code
    refused: Counter[str] = field(default_factory=Counter)  # connections refused, by cap
    rooms_failed: int = 0
    redis_errors: int = 0
    tick_lateness: Histogram = field(default_factory=Histogram)
    tick_duration: Histogram = field(default_factory=Histogram)
    intent_to_frame: Histogram = field(default_factory=lambda: Histogram(INTENT_BUCKETS))
    # Cyclic garbage collector pauses, by generation (server.collector times them).
    gc_pause: tuple[Histogram, ...] = field(
        default_factory=lambda: tuple(Histogram() for _ in range(3))
    )

    def observe_tick(self, lateness: float, duration: float) -> None:
        """Record one scheduler batch: how late its first tick started and how long it ran."""
        self.tick_lateness.observe(lateness)
        self.tick_duration.observe(duration)

    def observe_intents(self, arrivals: list[float]) -> None:
        """State frames reflecting these intents (arrival times, `time.monotonic()`) just left."""
        now = time.monotonic()
        for arrived in arrivals:
            self.intent_to_frame.observe(now - arrived)


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
        core = GaugeMetricFamily(
            "pacarena_game_core", "The game core build running: compiled or pure", labels=["kind"]
        )
        core.add_metric([gamecore.kind()], 1)
        yield core
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
            ("pacarena_messages_sent", "Text messages sent (control, chat)", STATS.messages_sent),
            ("pacarena_text_bytes_sent", "Text message bytes sent", STATS.text_bytes_sent),
            (
                "pacarena_bytes_sent",
                "Payload bytes sent, state frames and text",
                STATS.state_bytes_sent + STATS.text_bytes_sent,
            ),
            ("pacarena_rate_limited", "Messages refused by the rate limit", STATS.rate_limited),
            ("pacarena_rooms_failed", "Rooms closed after an internal error", STATS.rooms_failed),
            ("pacarena_redis_errors", "Failed calls to the shared backend", STATS.redis_errors),
        ):
            yield CounterMetricFamily(name, doc, value=count)
        for name, doc, label_name, counts in (
            ("pacarena_errors_sent", "Error replies by code", "code", STATS.errors_sent),
            ("pacarena_closed", "Connections the server closed", "code", STATS.closed_for),
            ("pacarena_connections_refused", "Connections refused", "reason", STATS.refused),
        ):
            family = CounterMetricFamily(name, doc, labels=[label_name])
            for label, n in sorted(counts.items()):
                family.add_metric([label], n)
            yield family
        for name, doc, hist in (
            (
                "pacarena_tick_lateness_seconds",
                "How late each scheduler batch started after its due time",
                STATS.tick_lateness,
            ),
            (
                "pacarena_tick_duration_seconds",
                "Time to run one scheduler batch of ticks (every room's; flushes run after)",
                STATS.tick_duration,
            ),
            (
                "pacarena_intent_to_frame_seconds",
                "From a player's intent arriving to the first state frame built after the "
                "simulation step that applied it leaving for the room",
                STATS.intent_to_frame,
            ),
        ):
            yield HistogramMetricFamily(name, doc, buckets=hist.cumulative(), sum_value=hist.total)
        pauses = HistogramMetricFamily(
            "pacarena_gc_pause_seconds",
            "Cyclic garbage collections by generation: each one pauses every room's tick",
            labels=["generation"],
        )
        for generation, hist in enumerate(STATS.gc_pause):
            pauses.add_metric([str(generation)], hist.cumulative(), sum_value=hist.total)
        yield pauses


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
