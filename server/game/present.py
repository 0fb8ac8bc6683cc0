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
    Snapshot,
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


_EYES = int(GhostLook.EYES)
_FLASHING = int(GhostLook.FLASHING)
_FRIGHTENED = int(GhostLook.FRIGHTENED)
_IN_HOUSE = int(GhostLook.IN_HOUSE)
_NORMAL = int(GhostLook.NORMAL)


def snapshot(arena: Arena) -> Snapshot:
    """This frame as plain ints (the same content as `view()`), for the frame encoder."""
    fright_left = arena.fright_left
    lv = arena.lv
    window = min(lv.flashes * 2 * FLASH_FRAMES, lv.fright_frames)  # as in `look()`
    flashing = fright_left <= window and ((window - fright_left) // FLASH_FRAMES) % 2 == 0
    ghosts = []
    for g in arena.ghosts:
        st = g.state
        if st in (G_EYES, G_ENTER):
            shown = _EYES
        elif g.fright:
            shown = _FLASHING if flashing else _FRIGHTENED
        elif st in (G_WAIT, G_LEAVE):
            shown = _IN_HOUSE
        else:
            shown = _NORMAL
        ghosts.append((g.id, g.x, g.y, g.dir, shown))
    return Snapshot(
        arena.frame,
        arena.level,
        arena.phase,
        arena.fruit,
        fright_left,
        arena.pellets,
        arena.pellets_left,
        arena.winner,
        tuple(
            [
                (
                    p.id,
                    p.x,
                    p.y,
                    p.dir,
                    p.state,
                    1 if p.power > 0 else 0,
                    1 if p.protect > 0 else 0,
                    p.score,
                    p.lives,
                )
                for p in arena.players_list
            ]
        ),
        tuple(ghosts),
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
