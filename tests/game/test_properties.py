"""Invariants over random input logs (hypothesis): walls, pellets, scores, determinism."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from server.game import Arena, EventKind, Mode, replay
from server.game.model import G_ENTER, G_LEAVE, G_WAIT
from server.game.view import PlayerState

FRAMES = 900
HOUSE_PATH = {(x, y) for x in range(11, 17) for y in range(14, 19)}
inputs_strategy = st.lists(
    st.tuples(st.integers(0, FRAMES - 1), st.integers(0, 3), st.integers(0, 3)),
    min_size=0,
    max_size=120,
)


def _run_checked(seed: int, inputs: list[tuple[int, int, int]], players: int) -> None:
    a = Arena(mode=Mode.ARENA if players > 1 else Mode.CLASSIC, seed=seed, ready_frames=5)
    for pid in range(players):
        a.add_player(pid)
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for f, pid, d in inputs:
        by_frame.setdefault(f, []).append((pid % players, d))
    walk = a.maze.walk
    scores = [0] * players
    left = a.pellets_left
    for _ in range(FRAMES):
        for pid, d in by_frame.get(a.frame, ()):
            a.set_direction(pid, d)
        a.step()
        events = a.drain_events()
        new_level = any(e.kind == EventKind.LEVEL_STARTED for e in events)
        assert a.pellets_left <= left or new_level
        assert bin(a.pellets).count("1") == a.pellets_left
        left = a.pellets_left
        for p in a.players_list:
            assert p.score >= scores[p.id]
            scores[p.id] = p.score
            if p.state != PlayerState.OUT:
                assert walk[(p.y >> 3) * 32 + ((p.x + 16) >> 3)], (p.id, p.x, p.y)
            assert -16 <= p.x <= 239
        for g in a.ghosts:
            if g.state in (G_WAIT, G_LEAVE, G_ENTER):
                # scripted moves: inside the house, through the door, or just above it
                gx, gy = ((g.x + 16) >> 3) - 2, g.y >> 3
                assert (gx, gy) in HOUSE_PATH, (g.id, g.x, g.y, g.state)
                continue
            assert walk[(g.y >> 3) * 32 + ((g.x + 16) >> 3)], (g.id, g.x, g.y, g.state)
        if a.over:
            break


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), inputs=inputs_strategy, players=st.integers(1, 4))
def test_no_wall_no_pellet_regrowth_no_score_drop(
    seed: int, inputs: list[tuple[int, int, int]], players: int
) -> None:
    _run_checked(seed, inputs, players)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), inputs=inputs_strategy)
def test_replay_is_deterministic_and_snapshots_continue_exactly(
    seed: int, inputs: list[tuple[int, int, int]]
) -> None:
    joins = [(0, 0), (0, 1), (0, 2), (300, 3)]
    full = replay(seed=seed, inputs=inputs, frames=FRAMES, joins=joins)
    again = replay(seed=seed, inputs=inputs, frames=FRAMES, joins=joins)
    assert full.digest == again.digest
    half = replay(seed=seed, inputs=inputs, frames=FRAMES // 2, joins=joins)
    restored = Arena.from_state(json.loads(json.dumps(half.state)))
    rest = replay(
        seed=seed, inputs=inputs, frames=FRAMES - FRAMES // 2, joins=joins, start=restored
    )
    assert rest.state == full.state
