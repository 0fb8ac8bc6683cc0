"""Game core speed: frames per second of one 8-player arena with 4 ghosts on one core.

    .venv/bin/python -m bench.core [--frames N] [--players N] [--repeats N] [--view]
                                   [--compiled | --both]

Prints the figures and writes bench/results/core.json. It times whichever `server` is
importable (from the work tree: the pure-Python core); --compiled builds a mypyc-compiled copy
of the work tree's `server/` in a temp folder and times that in a child process, --both times
the two in one run. Every result names the core it ran ("core": "pure" or "compiled").

The loop is what a room does each frame: apply intents, `step()`, `drain_events()`, and at the
20 Hz send rate take the picture the frame encoder packs: `snapshot()` (or, with --view, the
older `view()`). Intents come from a seeded log made before the clock starts (a bot turns
every ~8 frames).

A second figure is the cost of one send tick's frame for the room: build the picture and
encode it (delta, plus the keyframe a joining or lagging client needs), both ways, in the
same run: `view()` + `StateEncoder.next()` and `snapshot()` + `StateEncoder.next_snapshot()`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import server.game.arena
from server import frames
from server.game import Arena, Direction, Mode

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
TARGET_FPS = 20_000


def _intents(frames: int, players: int, seed: int) -> list[list[tuple[int, Direction]]]:
    r = random.Random(seed)
    dirs = tuple(Direction)
    log: list[list[tuple[int, Direction]]] = [[] for _ in range(frames)]
    for pid in range(players):
        f = r.randrange(8)
        while f < frames:
            log[f].append((pid, r.choice(dirs)))
            f += r.randrange(4, 13)
    return log


def _new_arena(players: int, seed: int) -> Arena:
    # Many lives so the run measures play, not a finished game; READY pause off.
    arena = Arena(mode=Mode.ARENA, seed=seed, ready_frames=0, lives=1000)
    for pid in range(players):
        arena.add_player(pid)
    return arena


def run_once(
    frames: int, players: int, seed: int, view_every: int = 3, use_view: bool = False
) -> dict[str, Any]:
    """Time `frames` frames; return the rate and what happened (to show it was real play)."""
    log = _intents(frames, players, seed)
    arena = _new_arena(players, seed)
    picture = arena.view if use_view else arena.snapshot
    events = 0
    views = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    for f in range(frames):
        for pid, d in log[f]:
            arena.set_direction(pid, d)
        arena.step()
        events += len(arena.drain_events())
        if f % view_every == 0:
            picture()
            views += 1
    cpu = time.process_time() - cpu_start
    elapsed = time.perf_counter() - start
    return {
        "frames": frames,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        # CPU time, so that other work on a shared machine does not count against the core
        "frames_per_s": frames / max(cpu, 1e-9),
        "wall_frames_per_s": frames / elapsed,
        "events": events,
        "views": views,
        "level_reached": arena.level,
        "pellets_left": arena.pellets_left,
    }


def send_tick_us(players: int, seed: int, ticks: int = 2000) -> dict[str, float]:
    """CPU microseconds per send tick to build and encode a room's frame, old and new way.

    Both encoders see the same game; each tick makes the delta and the keyframe. Each way
    is timed over the same ticks in turn (best of three passes).
    """
    arena = _new_arena(players, seed)
    log = _intents(ticks * 3, players, seed)
    n_pellets = arena.maze.pellet_count
    games: list[Arena] = []
    for t in range(ticks):
        for f in range(3 * t, 3 * t + 3):
            for pid, d in log[f]:
                arena.set_direction(pid, d)
            arena.step()
        arena.drain_events()
        if t % 10 == 0:
            games.append(Arena.from_state(arena.to_state()))
    best = {"view_next_us": 1e9, "snapshot_next_snapshot_us": 1e9}
    for _ in range(3):
        for key in best:
            encoder = frames.StateEncoder(n_pellets)
            cpu = time.process_time()
            for game in games:
                for _ in range(10):  # ten ticks of one picture: the encoder's work is the same
                    if key == "view_next_us":
                        out = encoder.next(game.view(), [])
                    else:
                        out = encoder.next_snapshot(game.snapshot(), [])
                    out.keyframe()
            spent = (time.process_time() - cpu) / (10 * len(games)) * 1e6
            best[key] = min(best[key], spent)
    return {key: round(value, 1) for key, value in best.items()}


def core_kind() -> str:
    """Which core is imported: "compiled" (mypyc, an extension module) or "pure" (source)."""
    compiled = str(server.game.arena.__file__).endswith(tuple(EXTENSION_SUFFIXES))
    return "compiled" if compiled else "pure"


def measure(
    frames: int = 6000, players: int = 8, seed: int = 1, repeats: int = 3, use_view: bool = False
) -> dict[str, Any]:
    """Best of `repeats` runs (the least disturbed by other work on the machine)."""
    runs = [run_once(frames, players, seed + i, use_view=use_view) for i in range(repeats)]
    best = max(runs, key=lambda r: r["frames_per_s"])
    fps = best["frames_per_s"]
    picture = "view()" if use_view else "snapshot()"
    return {
        "what": f"{players}-player arena, 4 ghosts, step + drain_events, {picture} at 20 Hz",
        "core": core_kind(),
        "picture": picture,
        "frames_per_s": round(fps),
        "runs_frames_per_s": [round(r["frames_per_s"]) for r in runs],
        "runs_wall_frames_per_s": [round(r["wall_frames_per_s"]) for r in runs],
        "measured_by": "process CPU time (time.process_time); wall-clock rates alongside",
        "target_frames_per_s": TARGET_FPS,
        "meets_target": fps >= TARGET_FPS,
        "arenas_per_core_at_60hz": int(fps // 60),
        "frames": frames,
        "players": players,
        "events_per_run": best["events"],
        "send_tick_build_encode_us": send_tick_us(players, seed, max(10, frames // 30)),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }


def measure_in(root: Path, options: list[str]) -> dict[str, Any]:
    """Run this benchmark in a child process started from `root`, timing the core found there.

    The child's first import path is `root`, so its `server` comes from there; `bench` itself
    still comes from this checkout.
    """
    out = root / "core.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "bench.core", *options, "--out", str(out)]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench.core in {root} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _say(result: dict[str, Any]) -> None:
    print(
        f"game core ({result['core']}): {result['frames_per_s']:,} frames/s ({result['what']}); "
        f"target {TARGET_FPS:,}: {'met' if result['meets_target'] else 'NOT met'}; "
        f"~{result['arenas_per_core_at_60hz']} arenas per core at 60 Hz"
    )
    print(f"  runs (CPU time): {result['runs_frames_per_s']}")
    print(f"  runs (wall clock): {result['runs_wall_frames_per_s']}")
    tick = result["send_tick_build_encode_us"]
    print(
        f"  one send tick's frame (build + delta + keyframe): view()+next() "
        f"{tick['view_next_us']} us, snapshot()+next_snapshot() "
        f"{tick['snapshot_next_snapshot_us']} us"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--players", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--view", action="store_true", help="time view() instead of snapshot()")
    builds = parser.add_mutually_exclusive_group()
    builds.add_argument(
        "--compiled", action="store_true",
        help="time a mypyc-compiled copy of the work tree's server/ (built in a temp folder)",
    )  # fmt: skip
    builds.add_argument(
        "--both", action="store_true", help="time the importable core and a compiled copy"
    )
    parser.add_argument("--out", default=str(RESULTS / "core.json"))
    args = parser.parse_args(argv)
    options = ["--frames", str(args.frames), "--players", str(args.players)]
    options += ["--repeats", str(args.repeats)] + (["--view"] if args.view else [])
    results: dict[str, dict[str, Any]] = {}
    if not args.compiled:
        result = measure(args.frames, args.players, repeats=args.repeats, use_view=args.view)
        results[result["core"]] = result
    if args.compiled or args.both:
        from bench.procs import work_copy  # only here: it brings the process tools along

        folder = work_copy(compiled=True)
        try:
            results["compiled"] = measure_in(folder, options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for result in results.values():
        _say(result)
    output: dict[str, Any] = next(iter(results.values()))
    if len(results) > 1:
        pure, compiled = results["pure"]["frames_per_s"], results["compiled"]["frames_per_s"]
        output = {**results, "compiled_speedup": round(compiled / pure, 2)}
        print(f"compiled / pure: {output['compiled_speedup']}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(output, indent=2) + "\n")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
