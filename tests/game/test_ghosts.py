"""Ghost targets, exit choice, tie-breaks, no-up tiles, tunnel, frightened turns (§2.8, §3)."""

from __future__ import annotations

import random

import pytest

from server.game import Direction
from server.game.ghosts import best_exit, choose_exit, target
from server.game.maze import tile_index
from server.game.model import G_EYES, G_OUT, LEFT, RIGHT, UP
from tests.game.helpers import centre, classic, park_ghosts, place

DOWN = 1


def _chasing(pac: tuple[int, int], facing: Direction):  # type: ignore[no-untyped-def]
    a = classic()
    park_ghosts(a)
    a.mode_idx = 1  # chase
    p = a.players[0]
    place(p, *pac)
    p.dir = int(facing)
    for g in a.ghosts:
        g.state = G_OUT
    return a


def test_blinky_targets_pacman_tile() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    assert target(a, a.ghosts[0], 20, 8) == (10, 20)


@pytest.mark.parametrize(
    ("facing", "expected"),
    [
        (Direction.LEFT, (6, 20)),
        (Direction.RIGHT, (14, 20)),
        (Direction.DOWN, (10, 24)),
        (Direction.UP, (6, 16)),  # the up bug: 4 up and 4 left
    ],
)
def test_pinky_targets_four_ahead_with_up_bug(facing: Direction, expected: tuple[int, int]) -> None:
    a = _chasing((10, 20), facing)
    assert target(a, a.ghosts[1], 20, 8) == expected


@pytest.mark.parametrize(
    ("facing", "blinky", "expected"),
    [
        (Direction.RIGHT, (8, 18), (16, 22)),  # pivot (12,20), doubled from Blinky
        (Direction.UP, (5, 14), (11, 22)),  # pivot (8,18) with the up bug
        (Direction.LEFT, (8, 20), (8, 20)),  # pivot (8,20) on Blinky: target is Blinky's tile
    ],
)
def test_inky_doubles_blinky_to_pivot(
    facing: Direction, blinky: tuple[int, int], expected: tuple[int, int]
) -> None:
    a = _chasing((10, 20), facing)
    a.ghosts[0].tile = tile_index(*blinky)  # Blinky's planned tile, as the ROM reads it
    assert target(a, a.ghosts[2], 20, 8) == expected


def test_clyde_chases_at_eight_tiles_or_more_else_scatters() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    clyde = a.ghosts[3]
    assert target(a, clyde, 18, 20) == (10, 20)  # distance^2 = 64: chase
    assert target(a, clyde, 10, 28) == (10, 20)  # straight below, 8 tiles
    assert target(a, clyde, 17, 23) == (0, 34)  # 49 + 9 = 58 < 64: his corner
    assert target(a, clyde, 10, 20) == (0, 34)


def test_scatter_corners_are_the_rom_tiles() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    a.mode_idx = 0
    corners = [target(a, g, 13, 14) for g in a.ghosts]
    assert corners == [(25, -1), (2, -1), (27, 34), (0, 34)]


def test_elroy_blinky_keeps_chasing_in_scatter() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    a.mode_idx = 0
    a.elroy = 1
    assert target(a, a.ghosts[0], 13, 14) == (10, 20)
    assert target(a, a.ghosts[1], 13, 14) == (2, -1)


def test_eyes_target_above_the_door() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    g = a.ghosts[2]
    g.state = G_EYES
    assert target(a, g, 3, 3) == (13, 14)


def test_no_living_pacman_means_scatter_targets() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    a.players[0].state = 3
    assert target(a, a.ghosts[0], 13, 14) == (25, -1)


def test_tie_break_up_left_down_right() -> None:
    m = classic().maze
    four_way = tile_index(6, 8)  # exits in all four directions
    # arriving moving left: up (6,7) and left (5,8) are both 1 from (5,7): up wins
    assert best_exit(m.walk, m.nbr, four_way, LEFT, 5, 7) == UP
    # left (5,8) and down (6,9) both 1 from (5,9): left wins
    assert best_exit(m.walk, m.nbr, four_way, LEFT, 5, 9) == LEFT
    # arriving moving down: down (6,9) and right (7,8) both 1 from (7,9): down wins
    assert best_exit(m.walk, m.nbr, four_way, DOWN, 7, 9) == DOWN
    # never the reverse even when it is nearest; never a wall
    assert best_exit(m.walk, m.nbr, four_way, LEFT, 9, 8) != RIGHT
    corridor = tile_index(3, 32)
    assert best_exit(m.walk, m.nbr, corridor, RIGHT, 3, 0) == RIGHT


def test_no_up_tiles_block_up_for_scatter_and_chase_only() -> None:
    a = _chasing((12, 4), Direction.LEFT)  # Pac-Man straight above (12,14)
    blinky = a.ghosts[0]
    for x, y in ((12, 14), (15, 14), (12, 26), (15, 26)):
        n = tile_index(x, y)
        d = LEFT if x == 12 else RIGHT
        a.players[0].x, a.players[0].y = centre(x, 4 if y == 14 else 23)
        assert choose_exit(a, blinky, n, d) == d, (x, y)
        # the same decision one tile further out is free to turn up
    # the eyes ignore the zone: from (15,14) moving right, home (13,14) is up-and-around
    blinky.state = G_EYES
    assert choose_exit(a, blinky, tile_index(15, 14), RIGHT) == UP
    blinky.state = G_OUT
    assert choose_exit(a, blinky, tile_index(15, 14), RIGHT) == RIGHT
    # outside the zone the same geometry turns up: (6,23) toward a target above
    a.players[0].x, a.players[0].y = centre(6, 4)
    assert choose_exit(a, blinky, tile_index(6, 23), RIGHT) == UP


class _Fixed(random.Random):
    def __init__(self, value: int) -> None:
        super().__init__(0)
        self.value = value

    def getrandbits(self, k: int, /) -> int:
        return self.value


def test_frightened_turns_use_the_rng_and_retry_clockwise() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    g = a.ghosts[0]
    g.fright = True
    four_way = tile_index(6, 8)
    a.rng = _Fixed(LEFT)  # the reverse when arriving moving right: next clockwise is up
    assert choose_exit(a, g, four_way, RIGHT) == UP
    a.rng = _Fixed(DOWN)
    assert choose_exit(a, g, four_way, RIGHT) == DOWN
    # (12,14) is a no-up tile, but frightened ghosts ignore the zone
    a.rng = _Fixed(UP)
    assert choose_exit(a, g, tile_index(12, 14), LEFT) == UP
    # corridor (3,32) running right: down is a wall, left the reverse: clockwise to... right
    a.rng = _Fixed(DOWN)
    assert choose_exit(a, g, tile_index(3, 32), RIGHT) == RIGHT


def test_frightened_choice_follows_the_seed() -> None:
    def picks(seed: int) -> list[int]:
        a = _chasing((10, 20), Direction.LEFT)
        a.rng = random.Random(seed)
        g = a.ghosts[0]
        g.fright = True
        return [choose_exit(a, g, tile_index(6, 8), RIGHT) for _ in range(40)]

    assert picks(7) == picks(7)
    assert set(picks(7)) == {UP, DOWN, RIGHT}  # every legal exit shows up, never the reverse


def test_every_draw_is_counted() -> None:
    a = _chasing((10, 20), Direction.LEFT)
    g = a.ghosts[0]
    g.fright = True
    before = a.rng_words
    for _ in range(5):
        choose_exit(a, g, tile_index(6, 8), RIGHT)
    assert a.rng_words == before + 5
    g.fright = False
    choose_exit(a, g, tile_index(6, 8), RIGHT)  # a chasing ghost decides without the RNG
    assert a.rng_words == before + 5


def test_no_decisions_in_the_tunnel() -> None:
    a = _chasing((20, 17), Direction.LEFT)
    g = a.ghosts[0]
    for x in (0, -1, -2, 27, 28, 29):
        for d in (LEFT, RIGHT):
            assert choose_exit(a, g, tile_index(x, 17), d) == d


def test_ghost_wraps_through_the_tunnel_at_tunnel_speed() -> None:
    a = classic()
    park_ghosts(a)
    a.players[0].x, a.players[0].y = centre(1, 4)
    g = a.ghosts[0]
    g.state = G_OUT
    place(g, 3, 17)
    g.dir = g.next = LEFT
    g.tile = tile_index(2, 17)
    seen = set()
    for _ in range(200):
        a.step()
        seen.add((g.x + 16) >> 3)
    assert 0 in seen and 31 in seen  # crossed the hidden columns on both sides
    assert g.x > 150 and g.y == centre(0, 17)[1]


def test_forced_reversal_applies_at_the_next_tile_centre() -> None:
    a = classic()
    park_ghosts(a)
    a.players[0].x, a.players[0].y = centre(1, 4)
    g = a.ghosts[0]
    g.state = G_OUT
    g.x, g.y = centre(3, 32)
    g.x += 2  # between centres, moving right
    g.dir = g.next = RIGHT
    g.tile = tile_index(4, 32)
    g.reverse = True
    for _ in range(12):
        a.step()
    assert g.dir == LEFT and not g.reverse
    assert g.x < centre(4, 32)[0]


def test_ghost_decides_one_tile_ahead() -> None:
    a = classic()
    park_ghosts(a)
    a.mode_idx = 1
    place(a.players[0], 6, 4)  # straight above the junction at (6,8)
    g = a.ghosts[0]
    g.state = G_OUT
    g.x, g.y = centre(4, 8)
    g.x += 1
    g.dir = g.next = RIGHT
    g.tile = tile_index(5, 8)
    while g.x < centre(5, 8)[0]:
        a.step()
    # at the centre of (5,8): still heading right, but the exit from (6,8) is already chosen
    assert g.dir == RIGHT and g.tile == tile_index(6, 8) and g.next == UP
    while g.x < centre(6, 8)[0] and g.dir == RIGHT:
        a.step()
    assert g.dir == UP


def test_set_direction_rejects_a_bad_value() -> None:
    from server.game import GameError

    a = classic()
    with pytest.raises(GameError, match="not a direction"):
        a.set_direction(0, 7)
