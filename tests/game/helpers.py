"""Shared builders for the game tests: arenas with short pauses and actors placed by tile."""

from __future__ import annotations

from dataclasses import replace

from server.game import Arena, Mode
from server.game.model import Ghost, Player
from server.game.tables import Level


def centre(x: int, y: int) -> tuple[int, int]:
    """The centre pixel of screen tile (x, y)."""
    return 8 * x + 3, 8 * y + 4


def classic(seed: int = 1, start_level: int = 1, **options: int) -> Arena:
    """A classic game with one player (id 0), already past its READY pause."""
    options.setdefault("ready_frames", 1)
    a = Arena(mode=Mode.CLASSIC, seed=seed, start_level=start_level, **options)
    a.add_player(0)
    a.step()
    a.drain_events()
    return a


def arena(n: int, seed: int = 1, **options: int) -> Arena:
    """An arena game with players 0..n-1, already past its READY pause."""
    options.setdefault("ready_frames", 1)
    a = Arena(mode=Mode.ARENA, seed=seed, **options)
    for pid in range(n):
        a.add_player(pid)
    a.step()
    a.drain_events()
    return a


def place(actor: Player | Ghost, x: int, y: int) -> None:
    """Put an actor on the centre of tile (x, y)."""
    actor.x, actor.y = centre(x, y)


def tile(actor: Player | Ghost) -> tuple[int, int]:
    return ((actor.x + 16) >> 3) - 2, actor.y >> 3


def park_ghosts(a: Arena) -> None:
    """Freeze every ghost in the house so it cannot interfere (held there by the counters)."""
    for g in a.ghosts:
        g.state = 0
        g.x, g.y = a.maze.house_slots[g.id], a.maze.house_centre[1]
    a.house_counts = [-10_000, -10_000, -10_000]
    a.lv = _no_idle(a)


def _no_idle(a: Arena) -> Level:
    return replace(a.lv, inactivity_frames=10**9, house_limits=(10**9, 10**9, 10**9))
