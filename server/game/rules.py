"""Pac-Man movement (buffered turns, cornering), eating, scoring and collisions per sub-tick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game import house
from server.game.model import G_ENTER, G_EYES, G_LEAVE, G_OUT, NO_DIR, Player
from server.game.tables import (
    DOT_PAUSE,
    DOT_POINTS,
    ENERGIZER_PAUSE,
    ENERGIZER_POINTS,
    EXTRA_LIFE_SCORE,
    FRUIT_FRAMES,
    FRUIT_PELLETS,
    GHOST_POINTS,
    RIVAL_POINTS,
)
from server.game.view import EventKind, Fruit, Phase, PlayerState

if TYPE_CHECKING:
    from server.game.arena import Arena

ALIVE = int(PlayerState.ALIVE)
COLLIDE_ORDER = (3, 2, 1, 0)  # the ROM checks Clyde, Inky, Pinky, Blinky and takes one


def step_player(arena: Arena, p: Player) -> None:
    """Pac-Man `p` moves this sub-tick (his pattern said so): maybe turn, move a pixel, eat."""
    maze = arena.maze
    opens = maze.opens
    x = p.x
    y = p.y
    i4 = 4 * ((y >> 3) * 32 + ((x + 16) >> 3))
    d = p.dir
    want = p.want
    if want != d and want != NO_DIR:
        if opens[i4 + want]:
            d = want  # pre-turn or post-turn: only the tile beside the current one matters
        elif want == d ^ 2 and ((x & 7) != 3 if d & 1 == 0 else (y & 7) != 4):
            d = want  # reversing back toward the centre of the current tile
        p.dir = d
    if d & 1 == 0:
        step = 1 - d  # DX[d] for right (0) and left (2)
        if opens[i4 + d] or ((x & 7) - 3) * step < 0:
            x += step
            if x < -16:
                x += 256
            elif x > 239:
                x -= 256
        off = (y & 7) - 4  # cornering: drift one pixel toward the new path's centre line
        if off:
            y -= 1 if off > 0 else -1
    else:
        step = 2 - d  # DY[d] for down (1) and up (3)
        if opens[i4 + d] or ((y & 7) - 4) * step < 0:
            y += step
        off = (x & 7) - 3
        if off:
            x -= 1 if off > 0 else -1
    p.x = x
    p.y = y
    tile = (y >> 3) * 32 + ((x + 16) >> 3)
    if arena.dots[tile]:
        eat_pellet(arena, p, maze.pellet_at[tile])
    if arena.fruit and x == maze.fruit[0] and y == maze.fruit[1]:
        fruit = arena.fruit
        arena.fruit = 0
        arena.fruit_left = 0
        award(arena, p, arena.lv.fruit_points, EventKind.FRUIT_EATEN, None, fruit)


def award(
    arena: Arena, p: Player, points: int, kind: EventKind, other: int | None, value: int
) -> None:
    """Add points and emit the event; grant the game's one extra life at 10,000."""
    p.score += points
    arena.emit(kind, p.id, other, value, points)
    if not p.extra and p.score >= EXTRA_LIFE_SCORE:
        p.extra = True
        p.lives += 1
        arena.emit(EventKind.EXTRA_LIFE, p.id, None, p.lives, 0)


def eat_pellet(arena: Arena, p: Player, pellet: int) -> None:
    """Pac-Man `p` ate pellet number `pellet` (still present)."""
    arena.take_pellet(pellet)
    arena.pellets_left -= 1
    arena.eaten += 1
    house.count_pellet(arena)
    if pellet in arena.maze.energizers:
        p.pause = ENERGIZER_PAUSE
        award(arena, p, ENERGIZER_POINTS, EventKind.ENERGIZER_EATEN, None, pellet)
        start_fright(arena, p)
    else:
        p.pause = DOT_PAUSE
        award(arena, p, DOT_POINTS, EventKind.DOT_EATEN, None, pellet)
    if arena.eaten in FRUIT_PELLETS and not arena.fruit:
        arena.fruit = int(arena.lv.fruit)
        arena.fruit_left = FRUIT_FRAMES + arena.draw_below(60)
        arena.emit(EventKind.FRUIT_APPEARED, None, None, arena.fruit, 0)
    if arena.pellets_left == 0:
        arena.clear_level()


def start_fright(arena: Arena, p: Player) -> None:
    """An energizer: reverse every ghost, restart the chain, frighten them for the level's time."""
    frames = arena.lv.fright_frames
    arena.chain = 0
    for g in arena.ghosts:
        if g.state != G_EYES and g.state != G_ENTER:
            g.reverse = True
            if frames:
                g.fright = True
    if frames:
        arena.fright_left = frames
        p.power = frames
        arena.emit(EventKind.FRIGHT_STARTED, p.id, None, frames, 0)


def collide(arena: Arena) -> None:
    """Same-tile checks before a movement sub-tick: ghosts against Pac-Men, then rivals."""
    # Fast scan: nearly always nobody shares a tile with a ghost. Only on a hit does the full
    # check run; the players scanned before the hit did nothing there either, so it may start
    # afresh and give exactly the ROM-order result. A ghost that cannot touch a Pac-Man (not
    # leaving the house, not out in the maze) gets tile -1, which no Pac-Man is on.
    g0, g1, g2, g3 = arena.ghosts
    t0 = (g0.y >> 3) * 32 + ((g0.x + 16) >> 3) if G_LEAVE <= g0.state <= G_OUT else -1
    t1 = (g1.y >> 3) * 32 + ((g1.x + 16) >> 3) if G_LEAVE <= g1.state <= G_OUT else -1
    t2 = (g2.y >> 3) * 32 + ((g2.x + 16) >> 3) if G_LEAVE <= g2.state <= G_OUT else -1
    t3 = (g3.y >> 3) * 32 + ((g3.x + 16) >> 3) if G_LEAVE <= g3.state <= G_OUT else -1
    tiles = (t0, t1, t2, t3)
    any_power = False
    for p in arena.players_list:
        if p.state != ALIVE or p.protect:
            continue
        if (p.y >> 3) * 32 + ((p.x + 16) >> 3) in tiles:
            _collide_ghosts(arena)
            break
        if p.power:
            any_power = True
    else:
        if any_power and arena.multi:
            collide_rivals(arena)


def _collide_ghosts(arena: Arena) -> None:
    """The full check, in the ROM's order, once some Pac-Man is on a ghost's tile."""
    ghosts = arena.ghosts
    tiles = []  # tiles of the ghosts that can touch a Pac-Man, in the ROM's check order
    ids = []
    for gid in COLLIDE_ORDER:
        g = ghosts[gid]
        if g.state == G_OUT or g.state == G_LEAVE:
            tiles.append((g.y >> 3) * 32 + ((g.x + 16) >> 3))
            ids.append(gid)
    any_power = False
    for p in arena.players_list:
        if p.state != ALIVE or p.protect:
            continue
        if p.power:
            any_power = True
        t = (p.y >> 3) * 32 + ((p.x + 16) >> 3)
        if t in tiles:
            gid = ids[tiles.index(t)]  # one ghost per check, as the ROM
            if ghosts[gid].fright:
                eat_ghost(arena, p, gid)
            else:
                arena.catch(p, gid)
            tiles = [
                (g.y >> 3) * 32 + ((g.x + 16) >> 3) if g.state in (G_OUT, G_LEAVE) else -1
                for g in (ghosts[k] for k in ids)
            ]
    if any_power and arena.multi:
        collide_rivals(arena)


def eat_ghost(arena: Arena, p: Player, gid: int) -> None:
    """Pac-Man `p` ate frightened ghost `gid`: chain points, eyes, and the freeze."""
    g = arena.ghosts[gid]
    g.fright = False
    g.state = G_EYES
    g.reverse = False
    points = GHOST_POINTS[min(arena.chain, 3)]
    arena.chain += 1
    award(arena, p, points, EventKind.GHOST_EATEN, gid, 0)
    if arena.freeze_frames:
        arena.phase = int(Phase.GHOST_EATEN_FREEZE)
        arena.timer = arena.freeze_frames
        arena.frozen_ghost = gid


def collide_rivals(arena: Arena) -> None:
    """A powered Pac-Man on the same tile as an unpowered, unprotected rival eats it."""
    players = arena.players_list
    for a in players:
        if a.state != ALIVE or not a.power or a.protect:
            continue
        t = (a.y >> 3) * 32 + ((a.x + 16) >> 3)
        for b in players:
            if b.state != ALIVE or b.power or b.protect or b is a:
                continue
            if (b.y >> 3) * 32 + ((b.x + 16) >> 3) == t:
                award(arena, a, RIVAL_POINTS, EventKind.RIVAL_EATEN, b.id, 0)
                arena.catch(b, None)


def fruit_tick(arena: Arena) -> None:
    """Count the showing fruit down and take it away when its time is up."""
    if arena.fruit:
        arena.fruit_left -= 1
        if arena.fruit_left <= 0:
            fruit = arena.fruit
            arena.fruit = int(Fruit.NONE)
            arena.emit(EventKind.FRUIT_EXPIRED, None, None, fruit, 0)
