"""Start, watch and stop the processes of a run: the server (or the ceiling) and the bots."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench.fleet import FleetOptions
from deploy.compile_core import compile_core, module_files, not_compiled

ROOT = Path(__file__).resolve().parent.parent
TICK_METRIC = "pacarena_tick_lateness_seconds"  # the server's own gauge of the bar
INTENT_METRIC = "pacarena_intent_to_frame_seconds"  # figure 3, timed inside the server
REALTIME_PRIORITY = 10  # low among real-time priorities: kernel threads still come first


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """Block until something listens on `port`; fail early if `proc` dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with socket.socket() as sock, suppress(OSError):
            sock.settimeout(0.2)
            sock.connect(("127.0.0.1", port))
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s} s")


def server_env(port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for `python -m server` under load: loopback, limits lifted, quiet logs."""
    env = dict(os.environ)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "TICK_HZ": "60",
            "SEND_HZ": "20",
            "MAX_CONNECTIONS": "100000",
            "MAX_CONNECTIONS_PER_IP": "100000",
            "MAX_ROOMS": "100000",
            "LOG_LEVEL": "WARNING",
            "SERVE_STATIC": "0",
            "COUNTDOWN_S": "0",
            "DRAIN_TIMEOUT_S": "0",  # stop at once between steps
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def can_compile() -> bool:
    """mypyc is importable here (it comes with mypy, in the dev extra)."""
    return importlib.util.find_spec("mypyc") is not None


def snapshot(ref: str = "HEAD", compiled: bool = False) -> tuple[Path, str]:
    """Export `server/` at `ref` to a fresh folder: the work tree may hold someone's half edit.

    With `compiled`, the game core in the copy is built with mypyc (deploy/compile_core.py).
    """
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix=f"pac-arena-{commit}-"))
    archive = subprocess.run(
        ["git", "archive", ref, "server"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if compiled:
        compile_core(folder)
    return folder, commit


def work_copy(compiled: bool = True) -> Path:
    """The work tree's `server/` in a fresh folder, its core compiled there, never in place.

    A `.so` built beside the work tree's sources would shadow every later edit of them.
    """
    folder = Path(tempfile.mkdtemp(prefix="pac-arena-work-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.so")
    shutil.copytree(ROOT / "server", folder / "server", ignore=ignore)
    if compiled:
        compile_core(folder)
    return folder


def core_of(folder: Path) -> str:
    """Which game core `python -m server` run from `folder` imports: compiled, pure or mixed."""
    files = module_files(folder)
    source = not_compiled(files)
    if not source:
        return "compiled"
    return "pure" if len(source) == len(files) else "mixed"


def prioritise(pid: int, cpu: int | None, nice: int, realtime: bool = False) -> None:
    """Pin `pid` to `cpu` and raise its CPU share (needs root; skipped without it).

    On a shared machine other people's work lands on the measured cores too; a higher share
    for the measured processes (the same for server, ceiling and bots) keeps that noise down.
    A negative nice only buys CPU share; `realtime` (SCHED_FIFO) also buys prompt wake-ups,
    which is what tick lateness is made of. The kernel still keeps 5% of each core for others.
    """
    if cpu is not None:
        os.sched_setaffinity(pid, {cpu})
    if nice:
        with suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    if realtime:
        with suppress(PermissionError):
            os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))


@contextmanager
def running(
    argv: list[str],
    port: int,
    env: Mapping[str, str],
    cpu: int | None,
    log: Path,
    nice: int = 0,
    cwd: Path = ROOT,
    realtime: bool = False,
) -> Iterator[psutil.Process]:
    """Run a server-like process pinned to `cpu` until the block ends, then stop it (SIGTERM)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=out)
    try:
        prioritise(proc.pid, cpu, nice, realtime)
        wait_for_port(port, proc)
        yield psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_argv() -> list[str]:
    return [sys.executable, "-m", "server"]


def ceiling_argv(port: int, frame_bytes: int, uvloop: bool) -> list[str]:
    argv = [sys.executable, "-m", "bench", "ceiling", "--port", str(port)]
    argv += ["--frame-bytes", str(frame_bytes)]
    return argv + (["--uvloop"] if uvloop else [])


def start_bots(
    options: FleetOptions, nice: int = 0, realtime: bool = False
) -> subprocess.Popen[str]:
    """A bot process (pinned by itself); its summary is the JSON line it prints at the end."""
    argv = [sys.executable, "-m", "bench", "bots", "--options", json.dumps(asdict(options))]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    prioritise(proc.pid, options.cpu, nice, realtime)
    return proc


def collect(procs: list[subprocess.Popen[str]], timeout_s: float) -> list[dict[str, Any]]:
    """Wait for bot processes and parse their summaries."""
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout_s)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"bot process failed (exit {proc.returncode})")
        results.append(json.loads(lines[-1]))
    return results


def fetch_json(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def histograms(port: int, *metrics: str) -> dict[str, dict[float, float]]:
    """Histograms of a server's /metrics, from one scrape: metric -> upper bound (s) -> count.
    Each is empty when there is no metrics port or no answer in time."""
    found: dict[str, dict[float, float]] = {metric: {} for metric in metrics}
    if not port:
        return found
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=15) as response:
            text = response.read().decode()
    except OSError:
        return found
    for line in text.splitlines():
        metric, bucket, rest = line.partition("_bucket{")
        if bucket and metric in found:
            bound = rest.split('le="', 1)[1].split('"', 1)[0]
            found[metric][float(bound)] = float(line.rsplit(" ", 1)[1])
    return found


def histogram_p99_ms(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """p50/p99 (as bucket upper bounds, ms) of what a cumulative histogram counted in between."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    result: dict[str, Any] = {"batches": int(total)}
    for name, q in (("p50_le", 0.5), ("p99_le", 0.99)):
        bound = next((b for b, c in zip(bounds, counts, strict=True) if c >= q * total), None)
        result[name] = None if bound is None or not total else round(bound * 1000, 2)
    return result


def cpu_times(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)
