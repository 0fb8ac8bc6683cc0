"""Arena mode: seats, spawns, pellet ties, rivals, respawn protection, last standing, joining."""

from __future__ import annotations

import pytest

from server.game import (
    Arena,
    ArenaFull,
    BadPlayer,
    Direction,
    EventKind,
    GameIsOver,
    Mode,
    PlayerState,
    SeatTaken,
)
from server.game.model import G_OUT, LEFT, RIGHT
from tests.game.helpers import arena, centre, park_ghosts


def test_seats_and_errors() -> None:
    a = Arena(mode=Mode.ARENA, seed=1)
    for pid in range(8):
        a.add_player(pid)
    with pytest.raises(SeatTaken, match="seat 3"):
        a.add_player(3)
    with pytest.raises(BadPlayer):
        a.add_player(8)
    a.remove_player(5)
    a.add_player(5)
    with pytest.raises(BadPlayer):
        a.set_direction(9, Direction.UP)
    c = Arena(mode=Mode.CLASSIC, seed=1)
    c.add_player(2)
    with pytest.raises(ArenaFull, match="one player"):
        c.add_player(0)


def test_spawns_are_distinct_and_the_classic_start_first() -> None:
    a = Arena(mode=Mode.ARENA, seed=1)
    for pid in range(8):
        a.add_player(pid)
    spots = [(p.x, p.y) for p in a.players_list]
    assert spots[0] == a.maze.start
    assert len(set(spots)) == 8
    house = {(x, y) for x in range(11, 17) for y in range(16, 19)}
    for x, y in spots:
        assert a.maze.walk[(y >> 3) * 32 + ((x + 16) >> 3)]
        assert (((x + 16) >> 3) - 2, y >> 3) not in house


def _race(left_id: int, right_id: int, left_head_start: int = 0) -> list[tuple[int, int]]:
    """Two players enter dot (5,32) from both sides; return (player, pellet) claims."""
    a = arena(2, start_level=5)
    park_ghosts(a)
    m = a.maze
    target = m.pellet_tiles.index((5, 32))
    a.pellets = 1 << target
    left, right = a.players[left_id], a.players[right_id]
    left.x, left.y = 8 * 5 - 1 - left_head_start, centre(5, 32)[1]  # last pixel of tile 4
    right.x, right.y = 8 * 6, left.y  # first pixel of tile 6
    left.dir, right.dir = RIGHT, LEFT
    left.ph = right.ph = 1  # both move on the same sub-tick
    a.step()
    return [(e.player, e.value) for e in a.drain_events() if e.kind == EventKind.DOT_EATEN]


def test_simultaneous_pellet_claim_goes_to_the_lower_id() -> None:
    target = Arena().maze.pellet_tiles.index((5, 32))
    assert _race(0, 1) == [(0, target)]
    assert _race(1, 0) == [(0, target)]  # same sub-tick: lower id, whichever side it comes from


def test_pellet_claim_goes_to_who_entered_first() -> None:
    a = arena(2, start_level=5)
    park_ghosts(a)
    target = a.maze.pellet_tiles.index((5, 32))
    a.pellets = 1 << target
    p0, p1 = a.players[0], a.players[1]
    p1.x, p1.y = 8 * 5 - 1, centre(5, 32)[1]  # p1 one pixel from the tile
    p0.x, p0.y = 8 * 6 + 1, p1.y  # p0 two pixels from it
    p1.dir, p0.dir = RIGHT, LEFT
    p0.ph = p1.ph = 1
    a.step()
    claims = [(e.player, e.value) for e in a.drain_events() if e.kind == EventKind.DOT_EATEN]
    assert claims == [(1, target)]
    assert a.pellets == 0


def _meet(power0: int, power1: int, protect1: int = 0) -> Arena:
    a = arena(2)
    park_ghosts(a)
    a.pellets = 0
    p0, p1 = a.players[0], a.players[1]
    p0.x, p0.y = centre(6, 32)
    p1.x, p1.y = p0.x + 1, p0.y
    p0.dir, p1.dir = RIGHT, RIGHT
    p0.power, p1.power, p1.protect = power0, power1, protect1
    a.step()
    return a


def test_powered_eats_unpowered_rival() -> None:
    a = _meet(100, 0)
    events = a.drain_events()
    eaten = [e for e in events if e.kind == EventKind.RIVAL_EATEN]
    assert [(e.player, e.other, e.points) for e in eaten] == [(0, 1, 1000)]
    assert a.players[0].score == 1000 and a.players[1].lives == 2
    assert a.players[1].state == PlayerState.DYING
    assert [e.value for e in events if e.kind == EventKind.LIFE_LOST] == [2]


@pytest.mark.parametrize(("p0", "p1", "protect"), [(0, 0, 0), (100, 100, 0), (100, 0, 50)])
def test_rivals_pass_through(p0: int, p1: int, protect: int) -> None:
    a = _meet(p0, p1, protect)
    assert not [e for e in a.drain_events() if e.kind == EventKind.RIVAL_EATEN]
    assert a.players[1].lives == 3


def test_respawn_after_two_seconds_with_two_seconds_protection() -> None:
    a = arena(2)
    park_ghosts(a)
    p1 = a.players[1]
    a.catch(p1, 0)
    a.drain_events()
    frames = 0
    while p1.state != PlayerState.ALIVE:
        a.step()
        frames += 1
    assert frames == 120
    assert EventKind.RESPAWNED in [e.kind for e in a.drain_events()]
    assert p1.protect > 100 and a.view().players[1].protected
    # a ghost on its tile does nothing while protected
    g = a.ghosts[0]
    g.state = G_OUT
    g.x, g.y = p1.x, p1.y
    g.dir = g.next = p1.dir
    a.step()
    assert p1.state == PlayerState.ALIVE and p1.lives == 2
    p1.protect = 0
    g.x, g.y = p1.x, p1.y
    a.step()
    assert p1.state == PlayerState.DYING


def test_last_standing_ends_the_game() -> None:
    a = arena(3)
    park_ghosts(a)
    for pid in (1, 2):
        a.players[pid].lives = 1
        a.catch(a.players[pid], 0)
    a.players[0].score = 10
    for _ in range(30):
        a.step()
    events = a.drain_events()
    assert [e.player for e in events if e.kind == EventKind.PLAYER_OUT] == [1, 2]
    over = [e for e in events if e.kind == EventKind.GAME_OVER]
    assert len(over) == 1 and over[0].player == 0
    assert a.over and a.winner == 0 and a.view().winner == 0
    with pytest.raises(GameIsOver):
        a.add_player(5)


def test_leaving_can_leave_a_last_standing() -> None:
    a = arena(2)
    a.remove_player(0)
    assert a.over and a.winner == 1


def test_join_mid_game_is_protected_on_a_free_spawn() -> None:
    a = arena(2)
    for _ in range(10):
        a.step()
    a.drain_events()
    a.add_player(4)
    p = a.players[4]
    assert p.protect == 120 and p.lives == 3 and p.state == PlayerState.ALIVE
    others = {(q.x >> 3, q.y >> 3) for q in a.players_list if q is not p}
    assert (p.x >> 3, p.y >> 3) not in others
    assert [e.kind for e in a.drain_events()] == [EventKind.PLAYER_JOINED]


def test_ghosts_chase_the_nearest_pacman() -> None:
    from server.game.ghosts import target

    a = arena(3)
    park_ghosts(a)
    a.mode_idx = 1
    for pid, (x, y) in enumerate(((1, 4), (20, 20), (26, 32))):
        a.players[pid].x, a.players[pid].y = centre(x, y)
    assert target(a, a.ghosts[0], 18, 20) == (20, 20)
    assert target(a, a.ghosts[0], 2, 5) == (1, 4)
    a.players[1].state = PlayerState.RESPAWNING  # only living Pac-Men are prey
    assert target(a, a.ghosts[0], 18, 20) != (20, 20)


def test_one_player_arena_is_practice_until_out() -> None:
    a = arena(1)
    for _ in range(5):
        a.step()
    assert not a.over
    p = a.players[0]
    p.lives = 1
    a.catch(p, 0)
    for _ in range(30):
        a.step()
    assert a.over and a.winner is None


def test_view_is_compact_and_sorted() -> None:
    a = Arena(mode=Mode.ARENA, seed=1)
    for pid in (5, 2, 7):
        a.add_player(pid)
    v = a.view()
    assert [p.id for p in v.players] == [2, 5, 7]
    assert [g.id for g in v.ghosts] == [0, 1, 2, 3]
    assert v.pellets == (1 << 244) - 1 and v.pellets_left == 244
    assert v.players[0].direction == Direction.LEFT
