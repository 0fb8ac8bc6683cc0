"""`python -m bench`: run the benchmarks, or one of the processes a run starts.

python -m bench [run] [--quick] [--figures 1,4,5,7]   all figures, table + JSON + PNG
python -m bench ceiling --port P --frame-bytes 64     the ceiling server (started by run)
python -m bench bots --options JSON                   one bot process (started by run)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cluster, procs, report, runner
from bench.fleet import FleetOptions

RESULTS = Path(__file__).resolve().parent / "results"


def _default_cpus() -> tuple[int | None, int | None]:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2:
        return cpus[0], cpus[1]
    return None, None


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def _safe(
    figure: Callable[[str, runner.Preset, runner.Machine], dict[str, Any]],
    target: str,
    preset: runner.Preset,
    machine: runner.Machine,
) -> dict[str, Any]:
    """Run one figure for one target; a crash is recorded, and the run goes on."""
    try:
        return figure(target, preset, machine)
    except Exception as exc:
        runner.say(f"  {target}: failed: {type(exc).__name__}: {exc}")
        return {"target": target, "error": f"{type(exc).__name__}: {exc}"}


def _measure(
    results: dict[str, Any],
    wanted: set[int],
    preset: runner.Preset,
    machine: runner.Machine,
    targets: list[str],
    fig6_rooms: str = "quick",
) -> None:
    begin = time.monotonic()
    if wanted & {1, 2, 3}:
        results["players_per_core"] = runner.players_per_core(preset, machine)
        report.write_json(results, Path(machine.logs), "partial")  # in case a later figure dies
    if 4 in wanted:
        runner.say("[fig 4] join storm")
        results["join_storm"] = {t: _safe(runner.join_storm, t, preset, machine) for t in targets}
    if 5 in wanted:
        runner.say("[fig 5] idle memory")
        results["idle_memory"] = {t: _safe(runner.idle_memory, t, preset, machine) for t in targets}
    if 6 in wanted:
        results["cluster"] = cluster.figure(preset, machine, fig6_rooms)
    if 7 in wanted:
        runner.say("[fig 7] game core")
        results["core"] = runner.core_fps(preset, machine)
    results["duration_s"] = round(time.monotonic() - begin, 1)


def run(args: argparse.Namespace) -> int:
    preset = runner.PRESETS["quick" if args.quick else args.preset]
    server_cpu, bot_cpu = _default_cpus()
    server_cpu = args.server_cpu if args.server_cpu is not None else server_cpu
    bot_cpu = args.bot_cpu if args.bot_cpu is not None else bot_cpu
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    uvloop = not args.no_uvloop and _has_uvloop()
    logs = Path(tempfile.gettempdir()) / "pac-arena-bench"  # server logs, kept out of the repo
    logs.mkdir(exist_ok=True)
    compiled = args.core == "compiled" and procs.can_compile()
    if args.core == "compiled" and not compiled:
        runner.say("mypyc is not importable: the server runs the pure-Python core")
    server_dir, commit = procs.ROOT, "work tree"
    if args.tree == "head":
        server_dir, commit = procs.snapshot("HEAD", compiled)
    elif compiled:  # in a copy: a .so beside the work tree's sources would shadow their edits
        server_dir = procs.work_copy()
    machine = runner.Machine(
        server_cpu, bot_cpu, uvloop, logs, args.nice, server_dir, args.realtime
    )
    wanted = {int(x) for x in args.figures.split(",") if x.strip()}
    results: dict[str, Any] = {
        "preset": "quick" if args.quick else args.preset,
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "started": stamp,
        "machine": runner.environment(machine),
        "server": commit,
        "game_core": procs.core_of(server_dir),
    }
    try:
        _measure(results, wanted, preset, machine, args.targets, args.fig6_rooms)
    finally:
        if server_dir != procs.ROOT:
            shutil.rmtree(server_dir, ignore_errors=True)
    rows = report.figures(results)
    results["table"] = [list(r) for r in rows]
    path = report.write_json(results, out, stamp)
    plot = report.write_plot(results, out / f"bench-{stamp}.png")
    print(report.table(rows))
    steps = report.steps_table(results)
    if steps:
        print()
        print(steps)
    print(f"\nresults: {path}" + (f"\nplot: {plot}" if plot else "") + f"\nserver logs: {logs}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run the benchmarks (the default)")
    for p in (parser, r):
        p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test's)")
        p.add_argument("--preset", choices=sorted(runner.PRESETS), default="full")
        p.add_argument("--figures", default="1,2,3,4,5,7", help="comma-separated figure numbers")
        p.add_argument(
            "--targets", type=lambda s: s.split(","), default=["server", "ceiling"],
            help="what figures 4 and 5 measure: server,ceiling",
        )  # fmt: skip
        p.add_argument("--server-cpu", type=int, default=None)
        p.add_argument("--bot-cpu", type=int, default=None)
        p.add_argument("--no-uvloop", action="store_true", help="ceiling on stock asyncio")
        p.add_argument(
            "--nice", type=int, default=-10,
            help="niceness of server, ceiling and bots (negative needs root; 0 = leave alone)",
        )  # fmt: skip
        p.add_argument(
            "--realtime", action="store_true",
            help="SCHED_FIFO for server, ceiling and bots (root): prompt wake-ups on a busy host",
        )  # fmt: skip
        p.add_argument(
            "--fig6-rooms", choices=("quick", "parties"), default="quick",
            help="figure 6: bots quick-play (default) or come in parties of 8 sharing a room by "
            "code, split over both processes (the relay's worst case)",
        )  # fmt: skip
        p.add_argument("--out", default=str(RESULTS))
        p.add_argument(
            "--tree", choices=("head", "work"), default="head",
            help="server code to measure: a snapshot of the last commit, or the work tree",
        )  # fmt: skip
        p.add_argument(
            "--core", choices=("compiled", "pure"), default="compiled",
            help="game core of the measured server: built with mypyc in its copy, or as is",
        )  # fmt: skip
    c = sub.add_parser("ceiling", help="serve the ceiling")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--frame-bytes", type=int, default=64)
    c.add_argument("--cpu", type=int, default=None)
    c.add_argument("--uvloop", action="store_true")
    b = sub.add_parser("bots", help="run one bot process")
    b.add_argument("--options", required=True, help="FleetOptions as JSON")
    args = parser.parse_args(argv)
    if args.command == "ceiling":
        from bench import ceiling

        ceiling.main(args.host, args.port, args.frame_bytes, args.cpu, args.uvloop)
        return 0
    if args.command == "bots":
        from bench import fleet

        fleet.main(FleetOptions(**json.loads(args.options)))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
