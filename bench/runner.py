"""The figures of issue 6, each measured next to a ceiling taken in the same run."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import host, procs
from bench.fleet import FleetOptions

LATENESS_BAR_MS = 5.0
FRAME_BAR = 0.99
CORE_BUDGET = 0.6  # share of a core a tick loop can use before its lateness explodes


@dataclass(frozen=True)
class Preset:
    """Sizes of one run; `quick` is the smoke test's, `full` the published one's."""

    steps: tuple[int, ...]
    rate: float  # connections per second while ramping up
    warmup_s: float
    window_s: float
    storm: int
    storm_observers: int
    storm_window_s: float  # measured from the first storm connection
    idle: int
    core_frames: int
    settle_s: float  # quiet time around the idle-memory readings
    give_up_after: int = 2  # consecutive failed steps before a target stops climbing
    attempts: int = 1  # tries per step; the least disturbed one counts


PRESETS = {
    "quick": Preset(
        steps=(8,), rate=400, warmup_s=0.6, window_s=1.0, storm=16, storm_observers=8,
        storm_window_s=2.0, idle=32, core_frames=300, settle_s=0.4,
    ),
    "full": Preset(
        steps=(64, 250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000),
        rate=800, warmup_s=4.0, window_s=10.0, storm=500, storm_observers=64,
        storm_window_s=5.0, idle=1000, core_frames=6000, settle_s=2.0, attempts=2,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Machine:
    """Where the processes run."""

    server_cpu: int | None
    bot_cpu: int | None
    uvloop: bool
    logs: Path
    nice: int = 0  # for server, ceiling and bots alike
    server_dir: Path = procs.ROOT  # where `python -m server` runs from (a snapshot of HEAD)
    realtime: bool = False  # SCHED_FIFO for server, ceiling and bots alike


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def _serving(
    target: str, port: int, m: Machine, frame_bytes: int = 64, metrics_port: int = 0
) -> Iterator[Any]:
    """The server (from `m.server_dir`) or the ceiling, pinned, on `port`."""
    log = m.logs / f"{target}.log"
    env = procs.server_env(port, {"METRICS_PORT": str(metrics_port)} if metrics_port else None)
    if target == "server":
        argv, cwd = procs.server_argv(), m.server_dir
    else:
        argv, cwd = procs.ceiling_argv(port, frame_bytes, m.uvloop), procs.ROOT
    with procs.running(argv, port, env, m.server_cpu, log, m.nice, cwd, m.realtime) as proc:
        yield proc


def measure_players(
    target: str, players: int, p: Preset, m: Machine, frame_bytes: int = 64, seed: int = 1
) -> dict[str, Any]:
    """One step of figure 1: `players` playing bots against a fresh server (or the ceiling)."""
    port = procs.free_port()
    metrics_port = procs.free_port() if target == "server" else 0
    with _serving(target, port, m, frame_bytes, metrics_port) as proc:
        start_at = time.time() + 0.2
        measure_at = start_at + players / p.rate + p.warmup_s
        options = FleetOptions(
            port=port, count=players, rate=p.rate, start_at=start_at, measure_at=measure_at,
            window_s=p.window_s, cpu=m.bot_cpu, seed=seed,
        )  # fmt: skip
        bots = procs.start_bots(options, m.nice, m.realtime)
        time.sleep(max(0.0, measure_at - time.time()))
        connections = 0
        if target == "ceiling":  # this read also resets the ceiling's lateness record
            # Briefly: an overloaded ceiling answering late would push the CPU window past
            # the bots' (a 15 s wait once read 1 % CPU for a ceiling at its limit).
            connections = _ceiling_stats(port, timeout_s=2).get("connections", 0)
        before = procs.histograms(metrics_port, procs.TICK_METRIC, procs.INTENT_METRIC)
        cpu0, host0 = procs.cpu_times(proc), host.cpu_ticks()
        time.sleep(p.window_s)
        cpu, host1 = procs.cpu_times(proc) - cpu0, host.cpu_ticks()
        rss = proc.memory_info().rss
        after = procs.histograms(metrics_port, procs.TICK_METRIC, procs.INTENT_METRIC)
        # The server's own tick-lateness histogram over the window, and figure 3 timed inside.
        internal, intent_ms = (
            procs.histogram_p99_ms(before[m], after[m]) if before[m] and after[m] else {}
            for m in (procs.TICK_METRIC, procs.INTENT_METRIC)
        )
        if target == "ceiling":
            internal = _ceiling_stats(port)
            internal["connections"] = connections  # as the window began; bots are leaving now
        (result,) = procs.collect([bots], timeout_s=60 + p.window_s)
    result.update(
        target=target,
        players=players,
        server_cpu_pct=round(100 * cpu / p.window_s, 1),
        server_rss_mb=round(rss / 2**20, 1),
        steal_pct=host.steal_pct(host0, host1, [m.server_cpu]),
        internal_lateness_ms=internal,
        server_intent_ms=intent_ms,
    )
    # CPU per player is far steadier than p99 lateness on a shared machine; with the field
    # notes' observation that lateness explodes past ~60% of a core, it projects a capacity.
    per_player = cpu / p.window_s / players
    result["cpu_us_per_player_s"] = round(per_player * 1e6, 1)
    result["projected_players_at_60pct"] = int(CORE_BUDGET / per_player) if per_player else 0
    result["passed"] = passed(result)
    return result


def _ceiling_stats(port: int, timeout_s: float = 15) -> dict[str, Any]:
    """The ceiling's own lateness record; an overloaded ceiling may not answer in time."""
    try:
        return procs.fetch_json(f"http://127.0.0.1:{port}/stats", timeout_s=timeout_s)
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def passed(r: dict[str, Any]) -> bool:
    """The bar of figure 1: p99 tick lateness under 5 ms, every client >= 99% of its frames.

    Tick lateness as seen from outside (the earliest frame of each tick, see
    `stats.tick_lateness_ms`); its p99 is taken per second and the median second must pass.
    Delivery lateness and the whole window's p99 are reported next to it.
    """
    own = own_p99(r.get("internal_lateness_ms", {}))
    return bool(
        r["joined"] >= r["players"]
        and r["clients_in_rooms"] >= r["players"]
        and tick_p99(r["lateness_ms"]) < LATENESS_BAR_MS
        # The target's own gauge over the whole window must agree: an overloaded step can starve
        # the outside measure of ticks (a handful seen, all early) and look like a pass.
        and (own is None or own <= LATENESS_BAR_MS)
        and r["clients_below_99"] == 0
        and r["error_total"] == 0
    )


def own_p99(internal: dict[str, Any]) -> float | None:
    """The target's own p99 tick lateness over the window (ms): the server's histogram bound,
    the ceiling's samples; None when the target did not answer."""
    if internal.get("p99_le") is not None:
        return float(internal["p99_le"])
    if "p99" in internal:
        return float(internal["p99"])
    return None


def tick_p99(late: dict[str, Any]) -> float:
    """The bar's figure: median over seconds of the p99 tick lateness (ms)."""
    tick = late.get("tick", {})
    return float(tick.get("slice_p99", tick.get("p99", late["p99"])))


def players_per_core(p: Preset, m: Machine) -> dict[str, Any]:
    """Figure 1 (and the samples for 2 and 3): climb the steps for the server and the ceiling."""
    rows: list[dict[str, Any]] = []
    failures = {"server": 0, "ceiling": 0}
    best = {"server": 0, "ceiling": 0}
    broken: list[dict[str, Any]] = []  # steps whose every attempt crashed (e.g. a timeout)
    frame_bytes = 64
    for players in p.steps:
        for target in ("server", "ceiling"):
            if failures[target] >= p.give_up_after:
                continue
            row = _best_of(target, players, p, m, frame_bytes)
            if "failure" in row:
                broken.append(row)
                failures[target] += 1
                continue
            if target == "server" and row["frame_bytes_mean"]:
                frame_bytes = round(row["frame_bytes_mean"])
            rows.append(row)
            verdict = "pass" if row["passed"] else "FAIL"
            late = row["lateness_ms"]
            say(
                f"[fig 1] {target} {players}: {verdict} tick p99 per second "
                f"{tick_p99(late):.1f} ms (delivery {late.get('slice_p99', 0):.1f} ms), "
                f"min frames {row['frame_ratio']['min']:.3f}, cpu {row['server_cpu_pct']}%, "
                f"bots cpu {row['bot_cpu_pct']}%, errors {row['error_total']}"
                f"{host.steal_note(row.get('steal_pct'))}"
            )
            if row["passed"]:
                failures[target] = 0
                best[target] = max(best[target], players)
            else:
                failures[target] += 1
        if all(f >= p.give_up_after for f in failures.values()):
            break
    ratio = best["server"] / best["ceiling"] if best["ceiling"] else 0.0
    projected = {t: _median([r["projected_players_at_60pct"] for r in rows if r["target"] == t
                             and r["players"] >= 250 and r["clock_ratio"]["p50"] >= 0.97])
                 for t in ("server", "ceiling")}  # fmt: skip
    # Only steps where the loop kept time: a starved server drops ticks and so does less work.
    return {
        "rows": rows,
        "best": best,
        "ratio": round(ratio, 3),
        "frame_bytes": frame_bytes,
        "projected_at_60pct": projected,
        "broken": broken,
    }


def _median(values: list[int]) -> int:
    values = sorted(values)
    return values[len(values) // 2] if values else 0


def _best_of(target: str, players: int, p: Preset, m: Machine, frame_bytes: int) -> dict[str, Any]:
    """Measure a step up to `p.attempts` times and keep the least disturbed attempt.

    A stall of the shared host during one attempt says nothing about the server; the same
    rule applies to the ceiling, so the comparison stays fair.
    """
    best: dict[str, Any] | None = None
    for attempt in range(1, p.attempts + 1):
        say(f"[fig 1] {target}: {players} players (attempt {attempt})")
        try:
            row = measure_players(target, players, p, m, frame_bytes, seed=attempt)
        except Exception as exc:  # an overloaded step is a failed step, not a failed run
            say(f"[fig 1] {target} {players}: attempt failed: {type(exc).__name__}: {exc}")
            if best is None:
                best = {"target": target, "players": players, "passed": False,
                        "failure": f"{type(exc).__name__}: {exc}",
                        "lateness_ms": {"p99": float("inf")}}  # fmt: skip
            continue
        row["attempt"] = attempt
        key = (row["passed"], -tick_p99(row["lateness_ms"]))
        if best is None or key > (best["passed"], -tick_p99(best["lateness_ms"])):
            best = row
        if row["passed"]:
            break
    assert best is not None
    return best


def join_storm(target: str, p: Preset, m: Machine) -> dict[str, Any]:
    """Figure 4: `storm` clients connect and join within one second while others play."""
    port = procs.free_port()
    with _serving(target, port, m):
        host0 = host.cpu_ticks()
        now = time.time()
        settle = p.storm_observers / p.rate + p.warmup_s
        storm_at = now + 0.2 + settle
        watch = FleetOptions(
            port=port, count=p.storm_observers, rate=p.rate, start_at=now + 0.2,
            measure_at=storm_at, window_s=p.storm_window_s, cpu=m.bot_cpu, seed=11, progress=False,
        )  # fmt: skip
        storm = replace(
            watch, count=p.storm, rate=p.storm / 0.9, start_at=storm_at, seed=12, progress=True
        )
        fleets = [
            procs.start_bots(watch, m.nice, m.realtime),
            procs.start_bots(storm, m.nice, m.realtime),
        ]
        observers, stormers = procs.collect(fleets, timeout_s=90)
        steal = host.steal_pct(host0, host.cpu_ticks(), [m.server_cpu])
    not_joined = stormers["count"] - stormers["joined"]
    return {
        "target": target,
        "clients": p.storm,
        "window_s": p.storm_window_s,
        "errors": stormers["error_total"] + observers["error_total"],
        "error_kinds": {**observers["errors"], **stormers["errors"]},
        "not_joined": not_joined,
        "join_ms": stormers["join_ms"],
        "lateness_ms": observers["lateness_ms"],
        "storm_lateness_ms": stormers["lateness_ms"],
        "steal_pct": steal,
    }


def idle_memory(target: str, p: Preset, m: Machine) -> dict[str, Any]:
    """Figure 5: RSS growth per connected client that said hello and sits in the lobby."""
    port = procs.free_port()
    with _serving(target, port, m) as proc:
        time.sleep(p.settle_s)
        rss0 = proc.memory_info().rss
        start_at = time.time() + 0.2
        measure_at = start_at + p.idle / p.rate + p.settle_s
        options = FleetOptions(
            port=port, count=p.idle, rate=p.rate, behaviour="idle", start_at=start_at,
            measure_at=measure_at, window_s=1.0, cpu=m.bot_cpu, seed=21, progress=False,
        )  # fmt: skip
        bots = procs.start_bots(options, m.nice, m.realtime)
        time.sleep(max(0.0, measure_at - time.time()) + p.settle_s / 2)
        rss1 = proc.memory_info().rss
        (result,) = procs.collect([bots], timeout_s=60)
    return {
        "target": target,
        "clients": result["welcomed"],
        "rss_before_mb": round(rss0 / 2**20, 1),
        "rss_after_mb": round(rss1 / 2**20, 1),
        "kb_per_client": round((rss1 - rss0) / 1024 / max(1, result["welcomed"]), 1),
        "errors": result["error_total"],
    }


def core_fps(p: Preset, m: Machine) -> dict[str, Any]:
    """Figure 7: the game core's frames per second, from bench/core.py, on the server's core."""
    try:
        from bench import core
    except ImportError as exc:
        return {"error": f"bench/core.py not available: {exc}"}
    before = os.sched_getaffinity(0)
    if m.server_cpu is not None:
        os.sched_setaffinity(0, {m.server_cpu})  # a child process inherits the pinning
    host0 = host.cpu_ticks()
    try:
        result: dict[str, Any]
        if m.server_dir != procs.ROOT:  # time the very core the server ran (maybe compiled)
            result = core.measure_in(m.server_dir, ["--frames", str(p.core_frames)])
        else:
            result = core.measure(frames=p.core_frames)
    except Exception as exc:  # report a broken core benchmark and go on with the rest
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        os.sched_setaffinity(0, before)
    result["steal_pct"] = host.steal_pct(host0, host.cpu_ticks(), [m.server_cpu])
    return result


def environment(m: Machine) -> dict[str, Any]:
    """The machine the figures came from."""
    import platform

    import psutil  # type: ignore[import-untyped]

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "idle_steal_pct": host.idle_steal_pct(),
        "server_cpu": m.server_cpu,
        "bot_cpu": m.bot_cpu,
        "ceiling_loop": "uvloop" if m.uvloop else "asyncio",
        "nice": m.nice,
        "realtime": m.realtime,
    }
