"""Mutable actor records for the hot loop: plain ints in `__slots__`, no per-frame allocation."""

from __future__ import annotations

from typing import Any, ClassVar

from server.game.view import Direction, PlayerState

# Direction deltas indexed by the ROM's numbering: right, down, left, up.
DX = (1, 0, -1, 0)
DY = (0, 1, 0, -1)
RIGHT, DOWN, LEFT, UP = 0, 1, 2, 3
NO_DIR = -1

# Ghost states (the view's GhostLook is derived from these plus the fright flag).
G_WAIT = 0  # in the house, bobbing
G_LEAVE = 1  # scripted walk out of the house
G_OUT = 2  # in the maze, steering by tiles
G_EYES = 3  # eaten: eyes steering home
G_ENTER = 4  # eyes dropping into the house


class _Record:
    """Base for actors: turns its slots into plain data and back (for snapshots)."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def to_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields()}

    def load(self, state: dict[str, Any]) -> None:
        for name in self._fields():
            setattr(self, name, state[name])

    def _fields(self) -> tuple[str, ...]:
        # An explicit tuple, not `__slots__`: a compiled (mypyc) class has no `__slots__`.
        return self.FIELDS


class Player(_Record):
    """One Pac-Man: pixel position, directions, lives, score and timers (all frames/sub-ticks)."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "dir",
        "extra",
        "id",
        "lives",
        "pause",
        "ph",
        "power",
        "protect",
        "score",
        "state",
        "timer",
        "want",
        "x",
        "y",
    )
    __slots__ = FIELDS

    def __init__(self, pid: int, x: int, y: int, lives: int) -> None:
        self.id = pid
        self.x = x
        self.y = y
        self.dir = LEFT
        self.want = NO_DIR  # wanted direction, kept until the maze allows it
        self.state = int(PlayerState.ALIVE)
        self.lives = lives
        self.score = 0
        self.extra = False  # the one extra life of the game was awarded
        self.power = 0  # frames left powered (ate an energizer)
        self.protect = 0  # frames left of spawn protection
        self.timer = 0  # frames since caught (dying/respawning)
        self.ph = 0  # position in the 32-bit speed pattern
        self.pause = 0  # sub-ticks left of an eating pause

    @property
    def direction(self) -> Direction:
        return Direction(self.dir)


class Ghost(_Record):
    """One ghost: pixel position, current and planned direction, planned tile, flags."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "dir",
        "fright",
        "id",
        "next",
        "ph",
        "reverse",
        "state",
        "tile",
        "x",
        "y",
    )
    __slots__ = FIELDS

    def __init__(self, gid: int, x: int, y: int, direction: int, state: int) -> None:
        self.id = gid
        self.x = x
        self.y = y
        self.dir = direction
        self.next = direction  # exit already chosen for the tile ahead
        self.tile = -1  # planned tile index (the tile the next decision is made from)
        self.state = state
        self.fright = False
        self.reverse = False  # a forced reversal is pending
        self.ph = 0
