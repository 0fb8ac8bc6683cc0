"""/metrics covers everything an operator needs, with live values, and only on its own port."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.hardening.support import Metrics, ServerProcess, quantile

REQUIRED = [
    "pacarena_connections",
    "pacarena_rooms",
    "pacarena_players",
    "pacarena_messages_received_total",
    "pacarena_messages_sent_total",
    "pacarena_bytes_sent_total",
    "pacarena_state_frames_sent_total",
    "pacarena_state_frames_skipped_total",
    "pacarena_rate_limited_total",
    "pacarena_redis_errors_total",
    "pacarena_tick_lateness_seconds_count",
    "pacarena_tick_duration_seconds_count",
]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(
        {"MESSAGES_PER_SECOND": "5", "MESSAGE_BURST": "5", "MAX_CONNECTIONS_PER_IP": "3"},
        name="metrics",
    ).start()
    yield proc
    proc.stop()


async def test_every_required_metric_moves(server: ServerProcess) -> None:
    quiet = server.metrics()
    for name in REQUIRED:
        quiet.get(name)  # present from the start, even at zero
    async with connect(server.ws_url, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "v": 1, "name": "Ada"}))
        await ws.send(json.dumps({"type": "create", "mode": "arena"}))
        for i in range(12):  # over the burst of 5: some are refused
            await ws.send(json.dumps({"type": "ping", "t": i}))
        # A second's worth of play (20 frames, 60 batches), however slowly a busy machine
        # gets through it: what is checked is that each metric moves, not how fast.
        deadline = time.monotonic() + 15
        while True:
            await asyncio.sleep(0.25)
            busy = server.metrics()
            _, ticks = quantile(quiet, busy, "pacarena_tick_lateness_seconds", 0.99)
            frames = busy.get("pacarena_state_frames_sent_total")
            if (frames >= 10 and ticks >= 30) or time.monotonic() > deadline:
                break
    assert busy.get("pacarena_connections") == 1
    assert busy.get("pacarena_rooms") == 1 and busy.get("pacarena_players") == 1
    assert busy.get("pacarena_messages_received_total") >= 14
    assert busy.get("pacarena_messages_sent_total") >= 3  # welcome, joined, pongs...
    assert busy.get("pacarena_state_frames_sent_total") >= 10  # 20 Hz for a second
    sent = busy.get("pacarena_bytes_sent_total")
    assert sent >= busy.get("pacarena_state_bytes_sent_total") + 100
    assert busy.get("pacarena_rate_limited_total") >= 5
    assert busy.get('pacarena_errors_sent_total{code="rate_limited"}') >= 1
    # Batches were timed: lateness and duration histograms are filled.
    assert ticks >= 30
    p50, _ = quantile(quiet, busy, "pacarena_tick_duration_seconds", 0.5)
    assert 0 < p50 < 0.0167


async def test_refused_connections_are_counted_by_cap(server: ServerProcess) -> None:
    socks = [await connect(server.ws_url, compression=None) for _ in range(4)]
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(socks[-1].recv(), 5)  # the refusal's error message
        await asyncio.wait_for(socks[-1].recv(), 5)
    m = server.metrics()
    assert m.get('pacarena_connections_refused_total{reason="address_cap"}') == 1
    for ws in socks:
        await ws.close()


def test_metrics_are_not_served_on_the_public_port(server: ServerProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url("/metrics"), timeout=5)
    assert caught.value.code == 404
    assert isinstance(server.metrics(), Metrics)
