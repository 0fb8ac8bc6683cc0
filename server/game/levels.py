"""Level and life transitions: a fresh level, everyone back to the start, the end of fright."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game import outcome
from server.game.model import G_OUT, G_WAIT, LEFT, Ghost
from server.game.tables import level
from server.game.view import EventKind, Fruit, Phase, PlayerState

if TYPE_CHECKING:
    from server.game.arena import Arena

READY = int(Phase.READY)
PLAYING = int(Phase.PLAYING)
ALIVE = int(PlayerState.ALIVE)
OUT = int(PlayerState.OUT)


def after_death(arena: Arena) -> None:
    """Classic mode after the death pause: the next life, or the end of the game."""
    p = arena.players_list[0] if arena.players_list else None
    if p is None or p.lives <= 0:
        if p is not None:
            p.state = OUT
            arena.emit(EventKind.PLAYER_OUT, p.id, None, 0, 0)
        outcome.game_over(arena, None)
        return
    reset_actors(arena)
    arena.global_on = True  # after a death the global house counter takes over
    arena.global_count = 0
    arena.elroy_off = True
    arena.emit(EventKind.RESPAWNED, p.id, None, 0, 0)


def next_level(arena: Arena) -> None:
    """After the level-clear pause: the next level's table row, pellets and positions."""
    arena.level += 1
    arena.lv = level(arena.level)
    start_level(arena)
    arena.emit(EventKind.LEVEL_STARTED, None, None, arena.level, 0)


def start_level(arena: Arena) -> None:
    """A full maze and fresh level counters, then everyone back to the start."""
    arena.pellets = (1 << arena.maze.pellet_count) - 1
    arena.pellets_left = arena.maze.pellet_count
    arena.eaten = 0
    arena.house_counts = [0, 0, 0]
    arena.global_on = False
    arena.global_count = 0
    arena.idle = 0
    arena.elroy = 0
    arena.elroy_off = False
    arena.fruit = int(Fruit.NONE)
    arena.fruit_left = 0
    reset_actors(arena)


def reset_actors(arena: Arena) -> None:
    """Everyone back to the start: ghosts home, Pac-Men on spawns, schedule at scatter 1."""
    m = arena.maze
    cy = m.house_centre[1]
    ex, ey = m.house_entry
    blinky = Ghost(0, ex, ey, LEFT, G_OUT)
    blinky.tile = (ey >> 3) * 32 + ((ex + 16) >> 3)
    arena.ghosts = [
        blinky,
        Ghost(1, m.house_slots[1], cy, 1, G_WAIT),
        Ghost(2, m.house_slots[2], cy, 3, G_WAIT),
        Ghost(3, m.house_slots[3], cy, 3, G_WAIT),
    ]
    arena.mode_t = 0
    arena.mode_idx = 0
    arena.fright_left = 0
    arena.chain = 0
    if arena.fruit:
        arena.emit(EventKind.FRUIT_EXPIRED, None, None, arena.fruit, 0)
    arena.fruit = int(Fruit.NONE)
    arena.fruit_left = 0
    arena.phase = READY if arena.ready_frames > 0 else PLAYING
    arena.timer = arena.ready_frames
    taken: list[tuple[int, int]] = []
    for p in arena.players_list:
        if p.state == OUT:
            continue
        spot = m.start if not arena.multi else next(s for s in m.spawns if s not in taken)
        taken.append(spot)
        p.x, p.y = spot
        p.dir = LEFT
        p.state = ALIVE
        p.power = p.protect = p.pause = p.ph = p.timer = 0


def end_fright(arena: Arena, announce: bool) -> None:
    """Fright is over (or cut short): every ghost normal again; FRIGHT_ENDED if `announce`."""
    if not arena.fright_left and not any(g.fright for g in arena.ghosts):
        return
    arena.fright_left = 0
    for g in arena.ghosts:
        g.fright = False
    if not arena.multi:
        for p in arena.players_list:
            p.power = 0
    if announce:
        arena.emit(EventKind.FRIGHT_ENDED, None, None, 0, 0)
