"""Build the immutable `ArenaView` the network layer packs (about 20 times a second)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game.model import G_ENTER, G_EYES, G_LEAVE, G_WAIT, Ghost
from server.game.tables import FLASH_FRAMES
from server.game.view import (
    ArenaView,
    Direction,
    Fruit,
    GhostId,
    GhostLook,
    GhostView,
    Phase,
    PlayerState,
    PlayerView,
)

if TYPE_CHECKING:
    from server.game.arena import Arena

_DIRS = tuple(Direction)
_STATES = tuple(PlayerState)
_GIDS = tuple(GhostId)
_PHASES = tuple(Phase)
_FRUITS = tuple(Fruit)


def view(arena: Arena) -> ArenaView:
    """A compact, immutable picture of this frame."""
    return ArenaView(
        frame=arena.frame,
        level=arena.level,
        phase=_PHASES[arena.phase],
        players=tuple(
            PlayerView(
                p.id,
                p.x,
                p.y,
                _DIRS[p.dir],
                _STATES[p.state],
                p.power > 0,
                p.protect > 0,
                p.score,
                p.lives,
            )
            for p in arena.players_list
        ),
        ghosts=tuple(
            GhostView(_GIDS[g.id], g.x, g.y, _DIRS[g.dir], look(arena, g)) for g in arena.ghosts
        ),
        pellets=arena.pellets,
        pellets_left=arena.pellets_left,
        fruit=_FRUITS[arena.fruit],
        fright_frames_left=arena.fright_left,
        winner=arena.winner,
    )


def look(arena: Arena, g: Ghost) -> GhostLook:
    """How ghost `g` must be drawn; flashing covers the level's last 5 (or 3) flashes of fright."""
    st = g.state
    if st in (G_EYES, G_ENTER):
        return GhostLook.EYES
    if g.fright:
        window = min(arena.lv.flashes * 2 * FLASH_FRAMES, arena.lv.fright_frames)
        left = arena.fright_left
        if left <= window and ((window - left) // FLASH_FRAMES) % 2 == 0:
            return GhostLook.FLASHING
        return GhostLook.FRIGHTENED
    if st in (G_WAIT, G_LEAVE):
        return GhostLook.IN_HOUSE
    return GhostLook.NORMAL
