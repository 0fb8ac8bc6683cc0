"""Scatter/chase schedule, fright times and flashes, Elroy, house release (sheet §2.2, §3.4-3.9)."""

from __future__ import annotations

import pytest

from server.game import Arena, EventKind, GhostLook, Mode, house, rules
from server.game.model import G_LEAVE, G_OUT, G_WAIT
from server.game.tables import level
from tests.game.helpers import classic, park_ghosts

SCHEDULES = {
    1: [420, 1620, 2040, 3240, 3540, 4740, 5040],
    3: [420, 1620, 2040, 3240, 3540, 65534, 65535],
    5: [300, 1500, 1800, 3000, 3300, 65534, 65535],
}


def _empty(start_level: int) -> Arena:
    """A classic game with nobody in it: ghosts run the schedule with scatter targets."""
    return Arena(mode=Mode.CLASSIC, seed=3, start_level=start_level, ready_frames=0)


@pytest.mark.parametrize("lvl", [1, 3, 5])
def test_mode_changes_at_the_rom_frames_and_reverse_ghosts(lvl: int) -> None:
    a = _empty(lvl)
    changes = []
    last = 0
    for _ in range(5100 if lvl == 1 else 3400):
        a.step()
        if a.mode_idx != last:
            changes.append(a.mode_t)
            last = a.mode_idx
    expected = [f for f in SCHEDULES[lvl] if f <= (5100 if lvl == 1 else 3400)]
    assert changes == expected


def test_mode_change_sets_reversal_on_every_ghost() -> None:
    a = _empty(1)
    for _ in range(420):
        a.step()
    assert a.mode_idx == 1
    # the flag is consumed at the next tile centre; some ghost still holds it or just reversed
    b = _empty(1)
    for _ in range(419):
        b.step()
    for g in b.ghosts:
        g.reverse = False
    b.step()
    assert all(g.reverse for g in b.ghosts)


def test_schedule_timer_pauses_while_frightened() -> None:
    a = classic()
    park_ghosts(a)
    t0 = a.mode_t
    rules.start_fright(a, a.players[0])
    for _ in range(100):
        a.step()
    assert a.mode_t == t0
    assert a.fright_left > 0


FRIGHT = [6, 5, 4, 3, 2, 5, 2, 2, 1, 5, 2, 1, 1, 3, 1, 1, 0, 1, 0, 0, 0, 0]
FLASHES = [5, 5, 5, 5, 5, 5, 5, 5, 3, 5, 5, 3, 3, 5, 3, 3, 0, 3, 0, 0, 0, 0]


@pytest.mark.parametrize("lvl", range(1, 23))
def test_fright_time_and_flashes_per_level(lvl: int) -> None:
    a = classic(start_level=lvl)
    park_ghosts(a)  # blue ghosts stay in the house: the countdown runs to the end
    rules.start_fright(a, a.players[0])
    events = a.drain_events()
    if FRIGHT[lvl - 1] == 0:
        assert not any(g.fright for g in a.ghosts)
        assert all(g.reverse for g in a.ghosts)  # still reverses
        assert not any(e.kind == EventKind.FRIGHT_STARTED for e in events)
        return
    assert [e.value for e in events if e.kind == EventKind.FRIGHT_STARTED] == [60 * FRIGHT[lvl - 1]]
    frames = 0
    flashes = 0
    was_white = False
    while True:
        a.step()
        frames += 1
        if any(e.kind == EventKind.FRIGHT_ENDED for e in a.drain_events()):
            break
        white = a.view().ghosts[0].look == GhostLook.FLASHING
        flashes += white and not was_white
        was_white = white
        assert a.players[0].power > 0
    assert frames == 60 * FRIGHT[lvl - 1]
    assert flashes == FLASHES[lvl - 1]
    assert a.players[0].power == 0
    assert a.view().ghosts[0].look == GhostLook.IN_HOUSE


def test_fright_ends_early_when_no_ghost_is_blue() -> None:
    a = classic()
    park_ghosts(a)
    rules.start_fright(a, a.players[0])
    for g in a.ghosts:
        g.fright = False  # as if all four were eaten
    a.step()
    assert a.fright_left == 0
    assert any(e.kind == EventKind.FRIGHT_ENDED for e in a.drain_events())


ELROY = [
    (1, 20, 10),
    (2, 30, 15),
    (3, 40, 20),
    (4, 40, 20),
    (5, 40, 20),
    (6, 50, 25),
    (8, 50, 25),
    (9, 60, 30),
    (11, 60, 30),
    (12, 80, 40),  # the ROM's 80, not SLB's 70
    (14, 80, 40),
    (15, 100, 50),
    (18, 100, 50),
    (19, 120, 60),
    (40, 120, 60),
]


@pytest.mark.parametrize(("lvl", "t1", "t2"), ELROY)
def test_elroy_thresholds(lvl: int, t1: int, t2: int) -> None:
    a = classic(start_level=lvl)
    park_ghosts(a)
    for left, expected in ((t1 + 1, 0), (t1, 1), (t2 + 1, 1), (t2, 2), (1, 2)):
        a.pellets_left = left
        a._timers()
        assert a.elroy == expected, (left, expected)


def test_elroy_suspended_after_a_death_until_clyde_is_out() -> None:
    a = classic()
    park_ghosts(a)
    a.pellets_left = 5
    a._timers()
    assert a.elroy == 2
    a.elroy_off = True  # what a lost life sets
    a._timers()
    assert a.elroy == 0
    a.ghosts[3].state = G_OUT
    a._timers()
    assert a.elroy == 2 and not a.elroy_off


def _feed(a: Arena, n: int) -> None:
    """Count `n` pellets toward the house and run the release check after each."""
    for _ in range(n):
        house.count_pellet(a)
        house.update_release(a)


@pytest.mark.parametrize(("lvl", "inky", "clyde"), [(1, 30, 60), (2, 0, 50), (3, 0, 0)])
def test_personal_counters_release_pinky_inky_clyde(lvl: int, inky: int, clyde: int) -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, start_level=lvl, ready_frames=0)
    pinky, inky_g, clyde_g = a.ghosts[1:]
    house.update_release(a)  # Pinky's limit is 0 on every level
    assert pinky.state == G_LEAVE
    if inky:
        _feed(a, inky - 1)
        assert inky_g.state == G_WAIT
        _feed(a, 1)
    else:
        house.update_release(a)
    assert inky_g.state == G_LEAVE
    if clyde:
        _feed(a, clyde - 1)
        assert clyde_g.state == G_WAIT
        _feed(a, 1)
    else:
        house.update_release(a)
    assert clyde_g.state == G_LEAVE


@pytest.mark.parametrize("lvl", [1, 3])
def test_global_counter_after_a_death(lvl: int) -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, start_level=lvl, ready_frames=0)
    a.global_on = True
    a.global_count = 0
    a.house_counts = [0, 0, 0]
    pinky, inky, clyde = a.ghosts[1:]
    _feed(a, 6)
    assert pinky.state == G_WAIT
    _feed(a, 1)
    assert pinky.state == G_LEAVE  # exactly 7
    _feed(a, 9)
    assert inky.state == G_WAIT
    _feed(a, 1)
    assert inky.state == G_LEAVE  # exactly 17
    _feed(a, 14)
    assert a.global_on
    _feed(a, 1)  # 32 with Clyde inside: the global counter switches off, Clyde stays (ROM)
    assert not a.global_on and a.global_count == 0
    assert clyde.state == G_WAIT
    house.update_release(a)
    # level 3: Clyde's personal limit is 0 and he leaves now; level 1: he needs 60 of his own
    assert clyde.state == (G_LEAVE if lvl == 3 else G_WAIT)


@pytest.mark.parametrize(("lvl", "idle"), [(1, 240), (4, 240), (5, 180), (21, 180)])
def test_inactivity_timer_forces_the_next_ghost_out(lvl: int, idle: int) -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, start_level=lvl, ready_frames=0)
    a.house_counts = [-999, -999, -999]  # counters alone would never release anyone
    for _ in range(idle - 1):
        house.update_release(a)
    assert a.ghosts[1].state == G_WAIT
    house.update_release(a)
    assert a.ghosts[1].state == G_LEAVE and a.ghosts[2].state == G_WAIT
    for _ in range(idle):
        house.update_release(a)
    assert a.ghosts[2].state == G_LEAVE


def test_leaving_ghost_turns_right_when_a_reversal_is_pending() -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, ready_frames=0)
    left, right = a.ghosts[1], a.ghosts[2]
    right.reverse = True
    for g in (left, right):
        g.x, g.y = a.maze.house_centre[0], a.maze.house_entry[1] + 1
        g.state = G_LEAVE
        house.move_in_house(a, g)
        assert g.state == G_OUT
    assert left.dir == 2 and right.dir == 0 and not right.reverse


def test_level_table_rows() -> None:
    assert level(1).house_limits == (0, 30, 60)
    assert level(21) == level(21) and level(255).fright_frames == 0
    assert level(256).speeds == level(21).speeds


def test_house_exit_slides_then_rises_at_half_a_pixel_per_frame() -> None:
    a = Arena(mode=Mode.CLASSIC, seed=1, ready_frames=0)
    inky = a.ghosts[2]
    inky.y = 137
    house.release(a, inky)
    path = []
    frames = 0
    while inky.state == G_LEAVE:
        a.frame += 1  # house moves happen on odd frames
        if a.frame & 1:
            house.move_in_house(a, inky)
            path.append((inky.x, inky.y))
        frames += 1
    assert inky.state == G_OUT and (inky.x, inky.y) == (111, 116)
    assert all(y == 137 for x, y in path if x < 111)  # slide first...
    assert [x for x, y in path if y < 137] == [111] * (137 - 116)  # ...then rise
    assert frames in ((16 + 21) * 2, (16 + 21) * 2 - 1)  # 0.5 px per frame
