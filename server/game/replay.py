"""Re-run a recorded input log and digest the result, to prove a game replays exactly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.game.arena import Arena
from server.game.maze import Maze
from server.game.state import full_rng_state
from server.game.view import Direction, Mode


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The digest of every event and the final state, plus a few figures for messages."""

    digest: str
    frames: int
    events: int
    state: dict[str, Any]


def replay(
    *,
    seed: int,
    mode: Mode = Mode.ARENA,
    inputs: Iterable[tuple[int, int, Direction | int]] = (),
    frames: int,
    joins: Iterable[tuple[int, int]] = ((0, 0),),
    leaves: Iterable[tuple[int, int]] = (),
    maze: Maze | None = None,
    start: Arena | None = None,
    **options: Any,
) -> ReplayResult:
    """Run `frames` steps applying the log; an entry for frame f is applied before step f+1.

    `inputs` holds (frame, player, direction), `joins` and `leaves` hold (frame, player).
    With `start`, the run continues that arena (e.g. one restored from a snapshot) instead.
    """
    arena = start if start is not None else Arena(mode=mode, seed=seed, maze=maze, **options)
    schedule: dict[int, list[tuple[int, int, int]]] = {}
    for f, pid in joins:
        schedule.setdefault(f, []).append((0, pid, 0))
    for f, pid in leaves:
        schedule.setdefault(f, []).append((2, pid, 0))
    for f, pid, d in inputs:
        schedule.setdefault(f, []).append((1, pid, int(d)))
    digest = hashlib.sha256()
    count = 0
    for _ in range(frames):
        for action, pid, d in schedule.get(arena.frame, ()):
            if action == 0:
                arena.add_player(pid)
            elif action == 2:
                arena.remove_player(pid)
            elif pid in arena.players:
                arena.set_direction(pid, d)
        arena.step()
        for e in arena.drain_events():
            count += 1
            digest.update(f"{e.kind},{e.frame},{e.player},{e.other},{e.value},{e.points};".encode())
    state = arena.to_state()
    # The RNG's whole state, however `to_state` saves it: the pinned digests cover it so.
    covered = {k: v for k, v in state.items() if k != "rng_words"}
    covered["rng"] = full_rng_state(arena)
    digest.update(repr(sorted(covered.items())).encode())
    return ReplayResult(digest.hexdigest(), frames, count, state)


def check_replay(expected: str, **run: Any) -> ReplayResult:
    """Re-run a log (same arguments as `replay`) and raise if its digest is not `expected`."""
    result = replay(**run)
    if result.digest != expected:
        raise AssertionError(f"replay diverged: digest {result.digest} != expected {expected}")
    return result
