"""Whole games driven by a pellet-seeking bot: levels get cleared and no ghost gets stuck."""

from __future__ import annotations

from collections import deque

from server.game import Arena, Direction, EventKind, Mode
from server.game.maze import Maze, load_maze
from server.game.model import G_ENTER, G_EYES, G_LEAVE


def _toward_nearest_pellet(maze: Maze, pellets: int, start: int) -> int | None:
    """First direction of a shortest walk from tile `start` to a tile with a pellet left."""
    seen = {start: -1}
    queue: deque[int] = deque([start])
    while queue:
        i = queue.popleft()
        p = maze.pellet_at[i]
        if p >= 0 and pellets >> p & 1 and i != start:
            while seen[i] != -1 and seen[i] != start:
                i = seen[i]
            for d in range(4):
                if maze.nbr[4 * start + d] == i:
                    return d
            return None
        for d in range(4):
            j = maze.nbr[4 * i + d]
            if maze.walk[j] and j not in seen:
                seen[j] = i
                queue.append(j)
    return None


def _play(
    mode: Mode, players: int, frames: int, seed: int, maze: Maze | None = None
) -> tuple[Arena, list[EventKind]]:
    a = Arena(mode=mode, seed=seed, lives=1000, ready_frames=10, maze=maze)
    for pid in range(players):
        a.add_player(pid)
    kinds: list[EventKind] = []
    stuck = [0, 0, 0, 0]
    for _ in range(frames):
        for p in a.players_list:
            if ((p.x & 7) == 3 and (p.y & 7) == 4) or p.want < 0:
                here = (p.y >> 3) * 32 + ((p.x + 16) >> 3)
                d = _toward_nearest_pellet(a.maze, a.pellets, here)
                if d is not None:
                    a.set_direction(p.id, Direction(d))
        a.step()
        kinds += [e.kind for e in a.drain_events()]
        for g in a.ghosts:
            stuck[g.id] = stuck[g.id] + 1 if g.state in (G_EYES, G_ENTER, G_LEAVE) else 0
            assert stuck[g.id] < 900, f"ghost {g.id} stuck in state {g.state}"
        if a.over:
            break
    return a, kinds


def test_classic_bot_clears_levels() -> None:
    a, kinds = _play(Mode.CLASSIC, 1, 12_000, seed=5)
    assert kinds.count(EventKind.LEVEL_CLEARED) >= 1
    assert a.level >= 2
    assert EventKind.ENERGIZER_EATEN in kinds and EventKind.FRUIT_APPEARED in kinds


def test_arena_bots_share_the_maze() -> None:
    a, kinds = _play(Mode.ARENA, 4, 6_000, seed=8)
    assert kinds.count(EventKind.LEVEL_CLEARED) >= 1
    scores = [p.score for p in a.players_list]
    assert all(s > 0 for s in scores)
    assert EventKind.GHOST_EATEN in kinds or EventKind.PLAYER_CAUGHT in kinds


def test_the_second_maze_plays_too() -> None:
    a, kinds = _play(Mode.ARENA, 3, 4_000, seed=2, maze=load_maze("open"))
    assert a.maze.name == "open"
    assert kinds.count(EventKind.LEVEL_CLEARED) >= 1
