"""Movement: speeds in pixels per 16 frames (sheet §2.2-2.5), pauses, turns, cornering, tunnel."""

from __future__ import annotations

import pytest

from server.game import Direction
from server.game.model import G_EYES, G_OUT, LEFT, RIGHT
from tests.game.helpers import centre, classic, park_ghosts, place, tile

# (level, Pac-Man normal, Pac-Man frightened) in pixels per 16 frames
PAC_SPEEDS = [(1, 16, 18), (2, 18, 19), (4, 18, 19), (5, 20, 20), (20, 20, 20), (21, 18, 18)]
# (level, ghost normal, frightened, tunnel, Elroy 1, Elroy 2)
GHOST_SPEEDS = [
    (1, 15, 10, 8, 16, 17),
    (2, 17, 11, 9, 18, 19),
    (5, 19, 12, 10, 20, 21),
    (21, 19, 0, 10, 20, 21),
]


def _pac_run(level: int, powered: bool, frames: int = 16) -> int:
    a = classic(start_level=level)
    park_ghosts(a)
    a.pellets = 0  # an empty corridor: no eating pauses
    p = a.players[0]
    place(p, 1, 32)
    p.dir = RIGHT
    p.ph = 0
    if powered:
        p.power = 10_000
    x0 = p.x
    for _ in range(frames):
        a.step()
    return p.x - x0


@pytest.mark.parametrize(("level", "normal", "fright"), PAC_SPEEDS)
def test_pacman_speed_per_16_frames(level: int, normal: int, fright: int) -> None:
    assert _pac_run(level, False) == normal
    if level < 21:
        assert _pac_run(level, True) == fright


def _ghost_run(level: int, *, fright: bool = False, elroy: int = 0, tunnel: bool = False) -> int:
    a = classic(start_level=level)
    park_ghosts(a)
    a.players[0].x, a.players[0].y = centre(1, 4)
    g = a.ghosts[0]
    g.state = G_OUT
    g.fright = fright
    if fright:
        a.fright_left = 10_000
    if tunnel:
        place(g, 4, 17)
        g.dir = g.next = LEFT
    else:
        place(g, 1, 32)
        g.dir = g.next = RIGHT
    g.ph = 0
    if elroy:
        a.pellets_left = a.lv.elroy2 if elroy == 2 else a.lv.elroy1
        a.elroy = elroy
    moved = 0
    for _ in range(16):
        x, y = g.x, g.y
        a.step()
        dx = abs(g.x - x)
        moved += min(dx, 256 - dx) + abs(g.y - y)
    return moved


@pytest.mark.parametrize(("level", "normal", "fright", "tunnel", "elroy1", "elroy2"), GHOST_SPEEDS)
def test_ghost_speeds_per_16_frames(
    level: int, normal: int, fright: int, tunnel: int, elroy1: int, elroy2: int
) -> None:
    assert _ghost_run(level) == normal
    if level < 21:  # no fright from level 19 on
        assert _ghost_run(level, fright=True) == fright
    assert _ghost_run(level, tunnel=True) == tunnel
    assert _ghost_run(level, elroy=1) == elroy1
    assert _ghost_run(level, elroy=2) == elroy2
    # tunnel speed wins over fright and Elroy (ROM check order)
    assert _ghost_run(level, tunnel=True, fright=True) == tunnel
    assert _ghost_run(level, tunnel=True, elroy=2) == tunnel


def test_eyes_move_two_pixels_per_frame() -> None:
    a = classic()
    park_ghosts(a)
    g = a.ghosts[0]
    g.state = G_EYES
    place(g, 1, 32)
    g.dir = g.next = RIGHT
    x0 = g.x
    for _ in range(16):
        a.step()
    assert g.x - x0 == 32


def _frames_to_reach(keep: set[tuple[int, int]], start: tuple[int, int], d: int, goal: int) -> int:
    """Frames Pac-Man needs from `start` until his tile along `d` reaches `goal` (level 5)."""
    a = classic(start_level=5)
    park_ghosts(a)
    m = a.maze
    a.pellets = sum(1 << i for i, t in enumerate(m.pellet_tiles) if t in keep)
    p = a.players[0]
    place(p, *start)
    p.dir = d
    for frames in range(1, 200):
        a.step()
        if tile(p)[d & 1] == goal:
            return frames
    raise AssertionError("never arrived")


def test_dot_pause_is_one_frame_and_energizer_three_and_a_half() -> None:
    free = _frames_to_reach(set(), (1, 32), RIGHT, 10)
    dots = {(x, 32) for x in range(2, 10)}
    # eight dots on the way, each pausing 2 sub-ticks with the speed pattern held: 8 frames
    assert _frames_to_reach(dots, (1, 32), RIGHT, 10) - free == 8
    free = _frames_to_reach(set(), (1, 4), 1, 10)
    # the energizer at (1,6): 7 sub-ticks, the ROM's 3.5 frames (the Dossier says 3)
    assert _frames_to_reach({(1, 6)}, (1, 4), 1, 10) - free in (3, 4)
    both = {(1, 5), (1, 6), (1, 7), (1, 8), (1, 9)}
    delay = _frames_to_reach(both, (1, 4), 1, 10) - free
    assert delay in (7, 8)  # 4 dots x 2 + 7 = 15 sub-ticks


def test_stops_at_wall_centre_and_keeps_direction() -> None:
    a = classic()
    park_ghosts(a)
    p = a.players[0]
    place(p, 3, 32)
    p.dir = LEFT
    for _ in range(40):
        a.step()
    assert (p.x, p.y) == centre(1, 32)
    assert p.dir == LEFT


def test_buffered_turn_waits_for_an_opening() -> None:
    a = classic()
    park_ghosts(a)
    p = a.players[0]
    place(p, 2, 32)
    p.dir = RIGHT
    a.set_direction(0, Direction.UP)  # no opening above until x = 12
    for _ in range(200):
        a.step()
        if p.dir == Direction.UP:
            break
    assert tile(p)[0] == 12 and p.dir == Direction.UP
    assert p.want == Direction.UP


def test_cornering_moves_diagonally() -> None:
    a = classic(start_level=5)
    park_ghosts(a)
    a.pellets = 0
    p = a.players[0]
    cx, cy = centre(6, 23)
    p.x, p.y = cx + 3, cy  # three pixels before the centre of (6,23), moving left
    p.dir = LEFT
    a.set_direction(0, Direction.UP)  # (6,22) is open: a pre-turn
    path = []
    for _ in range(8):
        a.step()
        path.append((p.x, p.y))
    assert p.dir == Direction.UP
    for x, y in path:
        if x > cx:
            assert x - cx == 3 + (y - cy)  # one pixel left for each pixel up
        else:
            assert x == cx  # then straight up the centre line
    assert path[-1][1] < cy - 3


def test_door_is_never_entered() -> None:
    a = classic()
    park_ghosts(a)
    a.pellets = 0
    p = a.players[0]
    place(p, 13, 14)
    a.set_direction(0, Direction.DOWN)
    for _ in range(30):
        a.step()
    assert tile(p)[1] == 14


def test_tunnel_wraps_and_pacman_is_not_slowed() -> None:
    a = classic()
    park_ghosts(a)
    a.pellets = 0
    p = a.players[0]
    place(p, 1, 17)
    p.dir = LEFT
    p.ph = 0
    moved = 0
    for _ in range(48):
        x = p.x
        a.step()
        dx = abs(p.x - x)
        moved += min(dx, 256 - dx)
    assert moved == 48  # 16 px per 16 frames at level 1, tunnel or not
    assert p.x > 200 and tile(p)[1] == 17
