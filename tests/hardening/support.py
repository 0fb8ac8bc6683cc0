"""Helpers for hardening tests: `python -m server` as a subprocess and its /metrics scraped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
TRACE_MARKERS = ("Traceback", 'File "', ".py", "Error(", "Exception")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def looks_like_a_trace(text: str) -> bool:
    """Whether server text shown to a client leaks internals (a stack trace, file names)."""
    return any(marker in text for marker in TRACE_MARKERS)


@dataclass
class ServerProcess:
    """A real `python -m server` on loopback, with metrics on their own port."""

    env: dict[str, str] = field(default_factory=dict)
    name: str = "hardening"
    port: int = 0
    metrics_port: int = 0
    # SCHED_FIFO for the server (root only): tests that measure tick lateness compare the
    # server's own loop in two windows, so the machine's other tenants must not decide when it
    # wakes (as with the bench's --realtime). The kernel still keeps 5% of a core for others.
    realtime: bool = False
    proc: subprocess.Popen[bytes] | None = None
    is_realtime: bool = False

    @property
    def log_path(self) -> Path:
        return ARTIFACTS / f"{self.name}-server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        self.port, self.metrics_port = free_port(), free_port()
        base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env = {
            **base,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "METRICS_PORT": str(self.metrics_port),
            "COUNTDOWN_S": "0",
            "LOG_LEVEL": "INFO",
            **self.env,
        }
        ARTIFACTS.mkdir(exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        if self.realtime:
            with contextlib.suppress(PermissionError, AttributeError):
                os.sched_setscheduler(self.proc.pid, os.SCHED_FIFO, os.sched_param(10))
                self.is_realtime = True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=1) as res:
                    if res.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not become healthy")

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/healthz"), timeout=2) as res:
                return bool(res.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def metrics(self) -> Metrics:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as res:
            return Metrics(res.read().decode())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait; return the exit code (killing it if it hangs)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Metrics:
    """One scrape of the Prometheus text format, parsed just enough for the tests."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                self.samples[name] = float(value)

    def get(self, name: str, default: float | None = None) -> float:
        if name in self.samples:
            return self.samples[name]
        if default is not None:
            return default
        raise KeyError(f"{name} not in the metrics:\n{self.text}")

    def buckets(self, histogram: str) -> list[tuple[float, float]]:
        """(upper bound, cumulative count) pairs of a histogram, in bound order."""
        prefix = histogram + '_bucket{le="'
        out = []
        for name, value in self.samples.items():
            if name.startswith(prefix):
                out.append((float(name[len(prefix) : -2]), value))
        if not out:
            raise KeyError(f"{histogram} has no buckets")
        return sorted(out)


def quantile(before: Metrics, after: Metrics, histogram: str, q: float) -> tuple[float, int]:
    """The q-quantile (seconds) of what `histogram` observed between two scrapes, by linear
    interpolation inside the bucket (as Prometheus' histogram_quantile), and the count."""
    b0, b1 = before.buckets(histogram), after.buckets(histogram)
    counts = [(le, c1 - c0) for (le, c0), (_, c1) in zip(b0, b1, strict=True)]
    total = counts[-1][1]
    if total <= 0:
        raise ValueError(f"{histogram}: nothing observed between the scrapes")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for le, cum in counts:
        if cum >= rank:
            if le == float("inf"):
                return lower_bound, int(total)
            width = cum - lower_count
            frac = (rank - lower_count) / width if width else 1.0
            return lower_bound + (le - lower_bound) * frac, int(total)
        lower_bound, lower_count = le, cum
    return lower_bound, int(total)


class MachineStalls:
    """The longest this (test) process went unscheduled, by a task that wakes every 10 ms.

    A shared VM's CPUs stall every process now and then for hundreds of milliseconds; a stall
    seen here as well as in the server is the machine's, not the server's.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> MachineStalls:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def reset(self) -> None:
        self.worst = 0.0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.monotonic() - before - 0.01)


class ReferenceTicker:
    """A do-nothing 60 Hz tick loop in a process of its own (`reference_ticker`), real-time
    one step above the server where the machine allows: its tick lateness is the machine's
    (a shared VM's CPUs stalled by the hypervisor), which no code of the server can cause.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.reference_ticker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.realtime = False  # without it, the ticker measures its neighbours, not the machine
        with contextlib.suppress(PermissionError, AttributeError):
            os.sched_setscheduler(self.proc.pid, os.SCHED_FIFO, os.sched_param(11))
            self.realtime = True

    def _say(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def mark(self) -> None:
        """Start a window."""
        self._say("mark")

    def p99(self) -> float:
        """The p99 tick lateness (seconds) since the last mark; 0 unless real-time."""
        self._say("read")
        assert self.proc.stdout is not None
        late = float(self.proc.stdout.readline())
        return late if self.realtime else 0.0

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
