"""Arena lives and endings: spawn tiles, respawning, last standing, the winner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game.model import LEFT, Player
from server.game.view import EventKind, Phase, PlayerState

if TYPE_CHECKING:
    from server.game.arena import Arena

ALIVE, DYING, RESPAWNING, OUT = (int(s) for s in PlayerState)
DYING_FRAMES = 30  # the shrinking animation before a caught arena player waits to respawn


def free_spawn(arena: Arena, start: int) -> tuple[int, int]:
    """The first spawn (from index `start`, wrapping) not on a ghost's or a Pac-Man's tile."""
    spawns = arena.maze.spawns
    busy = {(g.y >> 3, (g.x + 16) >> 3) for g in arena.ghosts}
    busy |= {(p.y >> 3, (p.x + 16) >> 3) for p in arena.players_list if p.state == ALIVE}
    for k in range(len(spawns)):
        x, y = spawns[(start + k) % len(spawns)]
        if (y >> 3, (x + 16) >> 3) not in busy:
            return x, y
    return spawns[start % len(spawns)]


def respawn(arena: Arena, p: Player) -> None:
    """Once per playing frame for a caught arena player: out, or back after 2 s, protected."""
    p.timer += 1
    if p.state == DYING and p.timer >= DYING_FRAMES:
        if p.lives <= 0:
            p.state = OUT
            arena.emit(EventKind.PLAYER_OUT, p.id, None, 0, 0)
            check_over(arena)
            return
        p.state = RESPAWNING
    if p.state == RESPAWNING and p.timer >= arena.respawn_frames:
        p.x, p.y = free_spawn(arena, p.id + arena.frame)
        p.dir = LEFT
        p.pause = 0
        p.state = ALIVE
        p.protect = arena.protect_frames
        arena.emit(EventKind.RESPAWNED, p.id, None, 0, 0)


def standing(arena: Arena) -> list[Player]:
    """Players who still have lives (in id order)."""
    return [p for p in arena.players_list if p.state != OUT]


def best(players: list[Player]) -> int | None:
    """The id with the highest score; the lower id wins a tie."""
    if not players:
        return None
    return max(players, key=lambda p: (p.score, -p.id)).id


def check_over(arena: Arena) -> None:
    """End an arena game once at most one player has lives (a practice game: once none has)."""
    if not arena.multi or arena.over or arena.frame == 0:
        return
    left = standing(arena)
    if arena.peak >= 2 and len(left) <= 1:
        game_over(arena, left[0].id if left else best(arena.players_list))
    elif arena.peak == 1 and not left:
        game_over(arena, None)


def game_over(arena: Arena, winner: int | None) -> None:
    """The game has ended; `winner` is a player id or None."""
    arena.phase = int(Phase.GAME_OVER)
    arena.over = True
    arena.winner = winner
    arena.emit(EventKind.GAME_OVER, winner, None, 0, 0)
