"""Fuzz a live server with 100,000 hostile frames while a room of good players keeps playing.

The fuzzers (tests/hardening/fuzzer.py) run in their own processes, niced: on a real host the
attacker's CPU is not the server's. The server's rate limit is lifted so every frame reaches
the parser (the limiter has its own tests); everything else is the default configuration.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hardening.support import ROOT, ReferenceTicker, ServerProcess, quantile
from tests.server.wsclient import Client
from tests.support.timing import TIMED

FUZZERS = 4
CONNECTIONS = 25  # per fuzzer process
FRAMES = 100_000
RATE = 4000  # frames per second in all: 100k in 25 s
# The quiet baseline is the worse of the windows just before and just after the fuzz: on a
# shared machine other work moves the quiet p99 by several ms between windows. The histogram's
# buckets are 2.5 ms wide around those values (5, 7.5, 10 ms), so interpolated quantiles can be
# off by up to one bucket width: that is the noise tolerance on top of the 5 ms budget.
BUDGET_S = 0.005
BUCKET_NOISE_S = 0.0025


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(
        {
            "MESSAGES_PER_SECOND": "10000",
            "MESSAGE_BURST": "100000",
            "MAX_CONNECTIONS_PER_IP": "1000",
        },
        name="fuzz",
        realtime=True,
    ).start()
    yield proc
    proc.stop()


async def play(c: Client, stop: asyncio.Event) -> None:
    """A well-behaved player: a turn every 250 ms."""
    dirs = ["up", "left", "down", "right"]
    i = 0
    while not stop.is_set():
        await c.send({"type": "input", "dir": dirs[i % 4]})
        i += 1
        await asyncio.sleep(0.25)


async def window(
    server: ServerProcess,
    players: list[Client],
    seconds: float | None,
    fuzz: bool,
    machine: ReferenceTicker,
) -> tuple[float, int, float, dict[str, Any]]:
    """Run a quiet or fuzzed window; return tick lateness p99 (the server's, less the
    machine's), frames per player, seconds, and the fuzzers' totals."""
    before = server.metrics()
    machine.mark()
    counts = [len(p.frames) for p in players]
    started = time.monotonic()
    totals: dict[str, Any] = {"frames": 0, "problems": [], "closes": Counter(), "codes": Counter()}
    if fuzz:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.hardening.fuzzer",
                str(server.port),
                str(CONNECTIONS),
                str(FRAMES // FUZZERS),
                str(seed),
                str(RATE / FUZZERS),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )
            for seed in range(FUZZERS)
        ]
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 90)
            result = json.loads(out.decode().strip().splitlines()[-1])
            totals["frames"] += result["frames"]
            totals["problems"] += result["problems"]
            totals["closes"].update(result["closes"])
            totals["codes"].update(result["codes"])
    else:
        assert seconds is not None
        await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    p99, _ = quantile(before, server.metrics(), "pacarena_tick_lateness_seconds", 0.99)
    # What the machine added (the hypervisor stalling every process) is not the server's.
    totals["machine_p99"] = machine.p99()
    p99 = max(0.0, p99 - totals["machine_p99"])
    least = min(len(p.frames) - n for p, n in zip(players, counts, strict=True))
    return p99, least, elapsed, totals


@TIMED
async def test_fuzz_100k_frames(server: ServerProcess) -> None:
    players = [await Client.open(server.port) for _ in range(2)]
    await players[0].hello("Good1")
    await players[0].send({"type": "create", "mode": "arena"})
    code = (await players[0].expect("joined"))["room"]
    await players[1].hello("Good2")
    await players[1].send({"type": "join", "room": code})
    await players[1].expect("joined")
    await players[0].send({"type": "start"})
    await players[0].wait_for(lambda: len(players[0].frames) > 20, 10)
    stop = asyncio.Event()
    steering = [asyncio.create_task(play(p, stop)) for p in players]

    machine = ReferenceTicker()
    try:
        quiet_p99, quiet_frames, quiet_s, _ = await window(server, players, 4.0, False, machine)
        fuzz_p99, fuzz_frames, fuzz_s, totals = await window(server, players, None, True, machine)
        after_p99, after_frames, after_s, _ = await window(server, players, 3.0, False, machine)
    finally:
        machine.stop()
    stop.set()
    await asyncio.gather(*steering)
    print(
        f"\nfuzz: {totals['frames']} frames in {fuzz_s:.1f} s, closes {dict(totals['closes'])}, "
        f"errors {dict(totals['codes'])}\n"
        f"tick lateness p99 less the machine's: quiet {quiet_p99 * 1000:.2f} ms, "
        f"fuzz {fuzz_p99 * 1000:.2f} ms, "
        f"quiet after {after_p99 * 1000:.2f} ms (server SCHED_FIFO: {server.is_realtime}; "
        f"the machine's own p99 in the fuzz window {totals['machine_p99'] * 1000:.2f} ms); "
        f"frames per good player per second: "
        f"quiet {quiet_frames / quiet_s:.1f}, fuzz {fuzz_frames / fuzz_s:.1f}"
    )

    assert totals["frames"] >= FRAMES
    assert totals["problems"] == []  # every frame answered, known codes, no internals shown
    assert set(totals["closes"]) <= {"1007", "1009"} and totals["closes"]
    assert "internal" not in totals["codes"]
    assert server.alive() and server.healthy()
    log = server.log()
    assert "Traceback" not in log and '"level": "error"' not in log
    # The good players never lost their room or their frames (20 Hz, some scheduling slack).
    for p in players:
        assert not p.closed.is_set()
        assert not [m for m in p.messages if m.get("type") == "error"]
    # 20 a second, give or take scheduling; judged against the quiet windows because when the
    # whole machine stalls (a shared VM's CPUs), the quiet windows lose frames too.
    quiet_rate = min(20.0, quiet_frames / quiet_s, after_frames / after_s)
    assert fuzz_frames / fuzz_s >= 0.75 * quiet_rate
    assert fuzz_p99 <= max(quiet_p99, after_p99) + BUDGET_S + BUCKET_NOISE_S
    for p in players:
        await p.close()
