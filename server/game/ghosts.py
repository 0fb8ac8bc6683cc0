"""Ghost steering: chase/scatter targets, the one-tile-ahead exit choice and maze movement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game.model import DOWN, DX, DY, G_ENTER, G_EYES, G_OUT, UP, Ghost
from server.game.tables import SCATTER_TARGETS
from server.game.view import PlayerState

if TYPE_CHECKING:
    from server.game.arena import Arena

BLINKY, PINKY, INKY, CLYDE = 0, 1, 2, 3
EXIT_ORDER = (3, 2, 1, 0)  # up, left, down, right: the first of equal distances wins
_ALIVE = int(PlayerState.ALIVE)


def prey_tile(arena: Arena, nx: int, ny: int) -> tuple[int, int, int] | None:
    """Tile and direction of the living Pac-Man nearest to tile (nx, ny); lower id wins ties."""
    best: tuple[int, int, int] | None = None
    best_d = 1 << 30
    for p in arena.players_list:
        if p.state != _ALIVE:
            continue
        px = ((p.x + 16) >> 3) - 2
        py = p.y >> 3
        d = (px - nx) * (px - nx) + (py - ny) * (py - ny)
        if d < best_d:
            best_d = d
            best = (px, py, p.dir)
    return best


def target(arena: Arena, g: Ghost, nx: int, ny: int) -> tuple[int, int]:
    """The tile ghost `g` steers for when deciding its exit from planned tile (nx, ny)."""
    if g.state == G_EYES:
        return arena.eyes_target
    gid = g.id
    elroy = gid == BLINKY and arena.elroy > 0
    if arena.mode_idx & 1 == 0 and not elroy:
        return SCATTER_TARGETS[gid]
    prey = prey_tile(arena, nx, ny)
    if prey is None:
        return SCATTER_TARGETS[gid]
    px, py, pd = prey
    if gid == BLINKY:
        return px, py
    if gid == PINKY:
        # The ROM's packed-vector overflow: facing up also shifts the target 4 tiles left.
        return px + 4 * DX[pd] - (4 if pd == UP else 0), py + 4 * DY[pd]
    if gid == INKY:
        vx = px + 2 * DX[pd] - (2 if pd == UP else 0)
        vy = py + 2 * DY[pd]
        b = arena.ghosts[BLINKY].tile  # the ROM reads Blinky's planned tile, not his occupied one
        return 2 * vx - ((b & 31) - 2), 2 * vy - (b >> 5)
    if (nx - px) * (nx - px) + (ny - py) * (ny - py) >= 64:  # 8 tiles or more (ROM), not "> 8"
        return px, py
    return SCATTER_TARGETS[CLYDE]


def choose_exit(arena: Arena, g: Ghost, n: int, d: int) -> int:
    """Pick the direction ghost `g` will take out of tile index `n`, which it enters moving `d`."""
    maze = arena.maze
    nx = (n & 31) - 2
    if nx <= 0 or nx >= 27:  # tunnel mouths and hidden columns: no decisions (ROM 0x1ED0)
        return d
    nbr = maze.nbr
    walk = maze.walk
    rev = d ^ 2
    base = 4 * n
    if g.fright and g.state == G_OUT:
        e = arena.draw_bits(2)
        for _ in range(4):
            if e != rev and walk[nbr[base + e]]:
                return e
            e = (e + 1) & 3  # clockwise retry, as the ROM (SLB goes the other way)
        return rev
    if g.state == G_OUT and maze.no_up[n] and walk[nbr[base + d]]:
        return d  # no-up tile: a scatter/chase ghost carries straight on
    tx, ty = target(arena, g, nx, n >> 5)
    return best_exit(walk, nbr, n, d, tx, ty)


def best_exit(walk: bytes, nbr: tuple[int, ...], n: int, d: int, tx: int, ty: int) -> int:
    """The exit from tile `n` (entered moving `d`) nearest to (tx, ty); never back, never a wall."""
    rev = d ^ 2
    base = 4 * n
    best = rev  # a dead end: the only way out is back
    best_d = 1 << 30
    for e in EXIT_ORDER:
        if e == rev:
            continue
        m = nbr[base + e]
        if not walk[m]:
            continue
        ex = (m & 31) - 2 - tx
        ey = (m >> 5) - ty
        dist = ex * ex + ey * ey
        if dist < best_d:  # strictly nearer: ties keep the earlier of up, left, down, right
            best_d = dist
            best = e
    return best


def move_in_maze(arena: Arena, g: Ghost) -> None:
    """Move `g` one pixel; at a tile centre commit the planned exit and plan the next one."""
    d = g.dir
    x = g.x + DX[d]
    if x < -16:
        x += 256
    elif x > 239:
        x -= 256
    y = g.y + DY[d]
    g.x = x
    g.y = y
    if g.state == G_EYES and x == arena.maze.house_entry[0] and y == arena.maze.house_entry[1]:
        g.state = G_ENTER
        g.dir = DOWN
        return
    if (x & 7) != 3 or (y & 7) != 4:
        return  # decisions at the tile centre pixel, as the ROM (not "on entering a tile")
    i = (y >> 3) * 32 + ((x + 16) >> 3)
    if g.reverse:
        g.reverse = False
        d ^= 2
    else:
        d = g.next
    g.dir = d
    n = arena.maze.nbr[4 * i + d]
    g.tile = n
    g.next = choose_exit(arena, g, n, d)
