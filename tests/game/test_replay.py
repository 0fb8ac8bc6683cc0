"""Replay helper and snapshots: same seed and inputs, same game; a different seed differs."""

from __future__ import annotations

import json
import random

import pytest

from server.game import Arena, Direction, Mode, check_replay, replay
from server.game.maze import load_maze


def _log(seed: int, frames: int, players: int) -> list[tuple[int, int, int]]:
    r = random.Random(seed)
    return [(f, pid, r.randrange(4)) for f in range(0, frames, 5) for pid in range(players)]


def test_same_log_same_digest_and_events() -> None:
    log = _log(1, 3000, 4)
    joins = [(0, pid) for pid in range(4)]
    a = replay(seed=9, inputs=log, frames=3000, joins=joins)
    b = check_replay(a.digest, seed=9, inputs=log, frames=3000, joins=joins)
    assert b.events == a.events > 50
    c = replay(seed=10, inputs=log, frames=3000, joins=joins)
    assert c.digest != a.digest  # the seed matters (frightened turns, fruit time)
    with pytest.raises(AssertionError, match="diverged"):
        check_replay(a.digest, seed=9, inputs=log[:-40], frames=3000, joins=joins)


def test_state_is_plain_json_and_restores_the_event_stream() -> None:
    log = _log(2, 2400, 3)
    a = Arena(mode=Mode.ARENA, seed=4)
    for pid in range(3):
        a.add_player(pid)
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for f, pid, d in log:
        by_frame.setdefault(f, []).append((pid, d))

    def run(arena: Arena, frames: int) -> list[tuple[object, ...]]:
        out = []
        for _ in range(frames):
            for pid, d in by_frame.get(arena.frame, ()):
                if pid in arena.players:
                    arena.set_direction(pid, Direction(d))
            arena.step()
            out += [
                (e.kind, e.frame, e.player, e.other, e.value, e.points)
                for e in arena.drain_events()
            ]
        return out

    run(a, 1200)
    text = json.dumps(a.to_state())
    b = Arena.from_state(json.loads(text))
    assert run(a, 1200) == run(b, 1200)
    assert a.to_state() == b.to_state()


def test_snapshot_keeps_a_custom_maze_and_pending_events() -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, maze=load_maze("open"))
    a.add_player(0)
    b = Arena.from_state(json.loads(json.dumps(a.to_state())))
    assert b.maze.rows == a.maze.rows and b.maze.pellet_count == 250
    assert b.drain_events() == a.drain_events()


def test_bad_state_version() -> None:
    state = Arena().to_state()
    state["version"] = 99
    with pytest.raises(ValueError, match="version"):
        Arena.from_state(state)


def test_an_injected_rng_drives_the_game() -> None:
    def digest(rng_seed: int) -> str:
        a = Arena(mode=Mode.CLASSIC, seed=0, rng=random.Random(rng_seed), ready_frames=0)
        a.add_player(0)
        out = []
        for f in range(2400):
            if f % 40 == 0:
                a.set_direction(0, Direction(f // 40 % 4))
            a.step()
            out += [(e.kind, e.frame, e.value) for e in a.drain_events()]
        return repr((out, a.to_state()))

    assert digest(3) == digest(3)
    assert digest(3) != digest(4)
