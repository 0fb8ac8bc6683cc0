"""Pinned digests of long seeded games: any change of behaviour in the core shows here.

The digests were taken from the core before it was tuned for speed; a speed change must
leave every event, every final state and every view exactly as it was.
"""

from __future__ import annotations

import hashlib
import random

from server.game import Arena, Direction, Mode, replay
from server.game.view import snapshot_of

ARENA_DIGEST = "b59e4cd8f5f540b2dd875ea1e77c44329980ee57b6579ab2b43c8c64de51c677"
CLASSIC_DIGEST = "2de5be9f91b7dc8462211cdebad15cd151593cf209f89a544a28ccd8db00a2cf"
VIEWS_DIGEST = "7197a78e9fa41d7215a0a6d5d678ce87781465b3083c77a06457041a2a97e2b9"


def _log(seed: int, frames: int, players: int) -> list[tuple[int, int, int]]:
    """Bot-like intents: each player turns every 4-12 frames."""
    r = random.Random(seed)
    out = []
    for pid in range(players):
        f = r.randrange(8)
        while f < frames:
            out.append((f, pid, r.randrange(4)))
            f += r.randrange(4, 13)
    return out


def test_long_arena_game_replays_to_the_pinned_digest() -> None:
    frames = 24_000  # several levels, frights, rivals eaten, deaths and respawns
    result = replay(
        seed=77,
        mode=Mode.ARENA,
        inputs=_log(5, frames, 8),
        frames=frames,
        joins=[(0, pid) for pid in range(6)] + [(900, 6), (1800, 7)],
        leaves=[(15_000, 3)],
        lives=40,
    )
    assert result.events > 1500
    assert result.state["level"] >= 3
    assert result.digest == ARENA_DIGEST


def test_long_classic_game_replays_to_the_pinned_digest() -> None:
    frames = 12_000
    result = replay(seed=3, mode=Mode.CLASSIC, inputs=_log(11, frames, 1), frames=frames, lives=6)
    assert result.events > 50
    assert result.digest == CLASSIC_DIGEST


def test_views_of_a_long_game_match_the_pinned_digest() -> None:
    arena = Arena(mode=Mode.ARENA, seed=21, lives=40)
    for pid in range(8):
        arena.add_player(pid)
    by_frame: dict[int, list[tuple[int, int]]] = {}
    for f, pid, d in _log(8, 9000, 8):
        by_frame.setdefault(f, []).append((pid, d))
    digest = hashlib.sha256()
    looks = set()
    for f in range(9000):
        for pid, d in by_frame.get(f, ()):
            arena.set_direction(pid, Direction(d))
        arena.step()
        arena.drain_events()
        view = arena.view()
        looks.update(int(g.look) for g in view.ghosts)
        digest.update(repr(view).encode())
    assert looks == {0, 1, 2, 3, 4}  # every way a ghost is drawn was seen
    assert digest.hexdigest() == VIEWS_DIGEST


def test_snapshot_says_what_the_view_says_every_frame() -> None:
    arena = Arena(mode=Mode.ARENA, seed=33, lives=40)
    for pid in range(8):
        arena.add_player(pid)
    r = random.Random(4)
    looks = set()
    for f in range(6000):
        if f == 2500:
            arena.remove_player(5)
        for pid in list(arena.players):
            if r.randrange(8) == 0:
                arena.set_direction(pid, Direction(r.randrange(4)))
        arena.step()
        arena.drain_events()
        snap = arena.snapshot()
        assert snap == snapshot_of(arena.view())
        looks.update(g[4] for g in snap.ghosts)
    assert looks == {0, 1, 2, 3, 4}
