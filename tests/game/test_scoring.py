"""Scoring and progression: pellets, chain, fruit, extra life, deaths, levels (sheet §2.9, §4)."""

from __future__ import annotations

import pytest

from server.game import Arena, EventKind, Fruit, Mode, Phase, rules
from server.game.model import G_ENTER, G_EYES, G_OUT, G_WAIT, LEFT, RIGHT
from server.game.tables import FRUIT_FRAMES
from tests.game.helpers import centre, classic, park_ghosts, place


def kinds(a: Arena) -> list[EventKind]:
    return [e.kind for e in a.drain_events()]


def test_dot_and_energizer_points() -> None:
    a = classic()
    park_ghosts(a)
    p = a.players[0]
    m = a.maze
    rules.eat_pellet(a, p, m.pellet_tiles.index((1, 4)))
    rules.eat_pellet(a, p, m.pellet_tiles.index((1, 6)))
    events = a.drain_events()
    assert [(e.kind, e.points) for e in events if e.points] == [
        (EventKind.DOT_EATEN, 10),
        (EventKind.ENERGIZER_EATEN, 50),
    ]
    assert p.score == 60 and a.pellets_left == 242
    assert not a.pellets >> m.pellet_tiles.index((1, 4)) & 1


def test_ghost_chain_200_400_800_1600_resets_per_energizer() -> None:
    a = classic(freeze_frames=0)
    park_ghosts(a)
    p = a.players[0]
    place(p, 6, 32)
    a.pellets = 0
    rules.start_fright(a, p)
    a.drain_events()
    points = []
    for gid in (0, 1, 2, 3):
        g = a.ghosts[gid]
        g.state = G_OUT
        g.fright = True
        g.x, g.y = p.x, p.y
        a.step()
        points += [e.points for e in a.drain_events() if e.kind == EventKind.GHOST_EATEN]
        assert g.state in (G_EYES, G_ENTER) and not g.fright
    assert points == [200, 400, 800, 1600]
    assert p.score == 3000
    rules.start_fright(a, p)
    g = a.ghosts[0]
    g.state, g.fright = G_OUT, True
    g.x, g.y = p.x, p.y
    a.step()
    assert [e.points for e in a.drain_events() if e.kind == EventKind.GHOST_EATEN] == [200]


def test_ghost_eaten_freezes_the_game_but_not_other_eyes() -> None:
    a = classic(freeze_frames=60)
    park_ghosts(a)
    p = a.players[0]
    place(p, 6, 32)
    a.pellets = 0
    rules.start_fright(a, p)
    g, eyes = a.ghosts[0], a.ghosts[1]
    g.state, g.fright = G_OUT, True
    g.x, g.y = p.x, p.y
    eyes.state = G_EYES
    place(eyes, 1, 8)
    eyes.dir = eyes.next = RIGHT
    a.step()
    assert a.phase == Phase.GHOST_EATEN_FREEZE
    px, gx, ex = p.x, g.x, eyes.x
    for _ in range(59):
        a.step()
    assert (p.x, g.x) == (px, gx)  # frozen
    assert eyes.x != ex  # eyes already travelling keep moving
    a.step()
    assert a.phase == Phase.PLAYING


def test_eyes_go_home_and_revive_unfrightened() -> None:
    a = classic(freeze_frames=0)
    park_ghosts(a)
    a.players[0].x, a.players[0].y = centre(1, 32)
    rules.start_fright(a, a.players[0])
    g = a.ghosts[2]  # Inky: revives in his own slot
    g.state = G_EYES
    g.fright = False
    place(g, 21, 11)
    g.dir = g.next = LEFT
    for _ in range(600):
        a.step()
        if g.state == G_WAIT:
            break
    assert g.state == G_WAIT
    assert (g.x, g.y) == (a.maze.house_slots[2], a.maze.house_centre[1])
    assert not g.fright and a.fright_left > 0  # others may still be blue, he is not


@pytest.mark.parametrize(
    ("lvl", "fruit", "points"),
    [
        (1, Fruit.CHERRIES, 100),
        (2, Fruit.STRAWBERRY, 300),
        (3, Fruit.PEACH, 500),
        (4, Fruit.PEACH, 500),
        (5, Fruit.APPLE, 700),
        (7, Fruit.GRAPES, 1000),
        (9, Fruit.GALAXIAN, 2000),
        (11, Fruit.BELL, 3000),
        (13, Fruit.KEY, 5000),
        (99, Fruit.KEY, 5000),
    ],
)
def test_fruit_appears_at_70_and_170_and_scores_by_level(
    lvl: int, fruit: Fruit, points: int
) -> None:
    a = classic(start_level=lvl)
    park_ghosts(a)
    p = a.players[0]
    dots = [i for i in range(a.maze.pellet_count) if i not in a.maze.energizers]
    for i in dots[:69]:
        rules.eat_pellet(a, p, i)
    assert a.fruit == Fruit.NONE
    rules.eat_pellet(a, p, dots[69])
    assert a.fruit == fruit
    appeared = [e for e in a.drain_events() if e.kind == EventKind.FRUIT_APPEARED]
    assert [e.value for e in appeared] == [fruit]
    assert FRUIT_FRAMES <= a.fruit_left < FRUIT_FRAMES + 60  # 9 to 10 seconds
    # walk through the fruit pixel (111,164) on row 20
    a.pellets = 0
    p.x, p.y = 111 + 6, 164
    p.dir = LEFT
    score = p.score
    for _ in range(8):
        a.step()
    eaten = [e for e in a.drain_events() if e.kind == EventKind.FRUIT_EATEN]
    assert [(e.value, e.points) for e in eaten] == [(fruit, points)]
    assert p.score - score == points and a.fruit == Fruit.NONE
    a.pellets = (1 << a.maze.pellet_count) - 1
    a.eaten = 169
    rules.eat_pellet(a, p, dots[100])
    assert a.fruit == fruit  # the second fruit at 170


def test_fruit_expires_after_nine_to_ten_seconds() -> None:
    a = classic()
    park_ghosts(a)
    a.players[0].x, a.players[0].y = centre(1, 32)
    a.pellets = 0
    a.eaten = 69
    a.pellets = 1 << 5
    rules.eat_pellet(a, a.players[0], 5)
    shown = 0
    while a.fruit:
        a.step()
        shown += 1
    assert 9 * 60 <= shown < 10 * 60
    assert EventKind.FRUIT_EXPIRED in kinds(a)


def test_extra_life_once_at_10000() -> None:
    a = classic()
    park_ghosts(a)
    p = a.players[0]
    p.score = 9_990
    rules.eat_pellet(a, p, 0)
    assert p.score == 10_000 and p.lives == 4
    assert EventKind.EXTRA_LIFE in kinds(a)
    p.score = 19_990
    rules.eat_pellet(a, p, 1)
    p.score = 29_995
    rules.eat_pellet(a, p, 2)
    assert p.lives == 4
    assert EventKind.EXTRA_LIFE not in kinds(a)


def test_caught_on_the_same_tile() -> None:
    a = classic(death_frames=10)
    park_ghosts(a)
    p = a.players[0]
    place(p, 6, 32)
    a.pellets = 0
    g = a.ghosts[0]
    g.state = G_OUT
    g.x, g.y = p.x + 2, p.y  # same tile, not the same pixel
    a.step()
    assert kinds(a)[:2] == [EventKind.PLAYER_CAUGHT, EventKind.LIFE_LOST]
    assert a.phase == Phase.DYING and p.lives == 2


def test_pass_through_when_swapping_tiles_in_one_subtick() -> None:
    def run(ghost_x: int, ghost_dir: int) -> list[EventKind]:
        a = classic(start_level=5)
        park_ghosts(a)
        a.pellets = 0
        p = a.players[0]
        p.x, p.y = 8 * 10 + 7, centre(0, 32)[1]  # last pixel of tile 10
        p.dir, p.ph = RIGHT, 1  # both patterns move on this sub-tick
        g = a.ghosts[0]
        g.state = G_OUT
        g.x, g.y = ghost_x, p.y
        g.dir = g.next = ghost_dir
        g.ph = 1
        a.step()
        return kinds(a)

    # they swap tiles 10 and 11 in the same sub-tick: the ROM never sees them together
    assert EventKind.PLAYER_CAUGHT not in run(8 * 11, LEFT)
    # a ghost moving away is caught up with and they share a tile: caught
    assert EventKind.PLAYER_CAUGHT in run(8 * 11, RIGHT)


def test_classic_death_resets_and_uses_the_global_counter() -> None:
    a = classic(death_frames=5, ready_frames=3)
    park_ghosts(a)
    p = a.players[0]
    a.catch(p, 0)
    for _ in range(5):
        a.step()
    assert a.phase == Phase.READY
    assert (p.x, p.y) == a.maze.start and p.state == 0
    assert a.global_on and a.elroy_off
    assert a.ghosts[0].state == G_OUT and a.ghosts[1].state == G_WAIT
    assert EventKind.RESPAWNED in kinds(a)


def test_classic_game_over_after_the_last_life() -> None:
    a = classic(death_frames=2)
    p = a.players[0]
    p.lives = 1
    a.catch(p, 1)
    a.step()
    a.step()
    assert a.over and a.phase == Phase.GAME_OVER
    assert kinds(a)[-2:] == [EventKind.PLAYER_OUT, EventKind.GAME_OVER]


def test_level_clear_at_the_last_pellet_then_next_level() -> None:
    a = classic(clear_frames=4, ready_frames=2)
    park_ghosts(a)
    p = a.players[0]
    a.pellets = 1 << 0
    a.pellets_left = 1
    a.eaten = 243
    rules.eat_pellet(a, p, 0)
    assert a.phase == Phase.LEVEL_CLEAR
    assert EventKind.LEVEL_CLEARED in kinds(a)
    for _ in range(4):
        a.step()
    assert a.level == 2 and a.pellets_left == 244 and a.phase == Phase.READY
    assert [e.value for e in a.drain_events() if e.kind == EventKind.LEVEL_STARTED] == [2]
    assert a.lv.fruit == Fruit.STRAWBERRY


def test_level_limit_ends_the_game() -> None:
    a = Arena(mode=Mode.ARENA, seed=1, level_limit=1, ready_frames=0)
    a.add_player(0)
    a.add_player(1)
    a.step()
    a.players[1].score = 50
    a.pellets = 1
    a.pellets_left = 1
    rules.eat_pellet(a, a.players[0], 0)
    assert a.over and a.winner == 1  # both standing: the better score wins
