"""The pure, deterministic game core: maze, rules, ghosts and the Arena that runs them.

No I/O, no clock, no global random: `Arena.step()` advances one 60 Hz frame.
"""

from __future__ import annotations

from server.game.arena import Arena
from server.game.errors import (
    ArenaFull,
    BadPlayer,
    GameError,
    GameIsOver,
    MazeError,
    SeatTaken,
)
from server.game.maze import Maze, classic_maze, load_maze, parse_maze
from server.game.replay import ReplayResult, check_replay, replay
from server.game.view import (
    ArenaView,
    Direction,
    Event,
    EventKind,
    Fruit,
    GhostId,
    GhostLook,
    GhostView,
    Mode,
    Phase,
    PlayerState,
    PlayerView,
)

__all__ = [
    "Arena",
    "ArenaFull",
    "ArenaView",
    "BadPlayer",
    "Direction",
    "Event",
    "EventKind",
    "Fruit",
    "GameError",
    "GameIsOver",
    "GhostId",
    "GhostLook",
    "GhostView",
    "Maze",
    "MazeError",
    "Mode",
    "Phase",
    "PlayerState",
    "PlayerView",
    "ReplayResult",
    "SeatTaken",
    "check_replay",
    "classic_maze",
    "load_maze",
    "parse_maze",
    "replay",
]
