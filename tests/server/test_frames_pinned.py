"""Pinned bytes of every state frame of a long seeded game: the encoder's output must not move.

The digest was taken from the encoder before it was tuned for speed; docs/protocol.md is
the contract with the browser, so a faster encoder must write exactly the same bytes.
"""

from __future__ import annotations

import hashlib
import random

from server import protocol
from server.game import Arena, Direction, Event, Mode

FRAMES_DIGEST = "6376f03faf0b381f0db5da9a78042a4777fb3aec9acbcacf772916ad2c839903"


def test_encoded_frames_of_a_long_game_match_the_pinned_digest() -> None:
    """Both ways in (a view, or the arena's snapshot) write the pinned bytes."""
    arena = Arena(mode=Mode.ARENA, seed=5, lives=40)
    for pid in range(7):
        arena.add_player(pid)
    encoder = protocol.StateEncoder(len(arena.maze.pellet_tiles))
    fast = protocol.StateEncoder(len(arena.maze.pellet_tiles))  # fed Arena.snapshot()
    r = random.Random(12)
    digest = hashlib.sha256()
    events: list[Event] = []
    kinds = set()
    for f in range(12_000):
        if f == 3000:
            arena.add_player(7)
        if f == 7000:
            arena.remove_player(2)
        for pid in list(arena.players):
            if r.randrange(8) == 0:
                arena.set_direction(pid, Direction(r.randrange(4)))
        arena.step()
        events += arena.drain_events()
        if f % 3 == 2:
            frame = encoder.next(arena.view(), events)
            other = fast.next_snapshot(arena.snapshot(), events)
            events = []
            assert other.delta == frame.delta
            if frame.delta is not None:
                digest.update(frame.delta)
                kinds.add("delta")
            if frame.delta is None or frame.seq % 40 == 0:
                digest.update(frame.keyframe())
                assert other.keyframe() == frame.keyframe()
                encoder.synced()
                fast.synced()
                kinds.add("keyframe")
    assert kinds == {"delta", "keyframe"}
    assert arena.level >= 2  # a level change forced keyframes on the way
    assert digest.hexdigest() == FRAMES_DIGEST
