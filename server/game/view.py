"""What the game core hands to the outside: directions, events and a compact view of the state.

These types are the contract between `server/game/` and the network layer. They are plain
immutable dataclasses and int enums so the protocol can pack them into bytes without looking
inside the core.

Coordinates are screen pixels on the arcade's 224x288 screen (28x36 tiles of 8 px); an actor's
position is its centre pixel, so a tile's centre is (8*tx + 3, 8*ty + 4). In the tunnel x runs
from -16 to 239 (two hidden columns past each edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, NamedTuple


class Direction(IntEnum):
    """Movement directions, numbered as the ROM numbers them (clockwise from right)."""

    RIGHT = 0
    DOWN = 1
    LEFT = 2
    UP = 3


class Mode(IntEnum):
    """How a room plays: the arcade game for one, or the arena for 2-8 Pac-Men."""

    CLASSIC = 0
    ARENA = 1


class Phase(IntEnum):
    """What the whole game is doing this frame."""

    READY = 0  # level start / after a death: actors shown, nothing moves
    PLAYING = 1
    GHOST_EATEN_FREEZE = 2  # the ~1 s pause while a ghost's points show
    DYING = 3  # classic: Pac-Man's death animation, everything else stopped
    LEVEL_CLEAR = 4  # maze flashing before the next level
    GAME_OVER = 5


class PlayerState(IntEnum):
    ALIVE = 0
    DYING = 1  # caught this moment; drawn shrinking
    RESPAWNING = 2  # waiting for a free spawn tile (arena) / next life
    OUT = 3  # no lives left: spectating


class GhostId(IntEnum):
    BLINKY = 0
    PINKY = 1
    INKY = 2
    CLYDE = 3


class GhostLook(IntEnum):
    """How a ghost must be drawn; the only ghost state a client needs."""

    NORMAL = 0  # scatter or chase (the client does not need to know which)
    FRIGHTENED = 1
    FLASHING = 2  # frightened and in the flash phase that shows white this frame
    EYES = 3
    IN_HOUSE = 4  # waiting or leaving the house, not frightened


class Fruit(IntEnum):
    NONE = 0
    CHERRIES = 1
    STRAWBERRY = 2
    PEACH = 3
    APPLE = 4
    GRAPES = 5
    GALAXIAN = 6
    BELL = 7
    KEY = 8


class EventKind(IntEnum):
    """Things that happened during one `step()`; see `Event` for what each field means."""

    DOT_EATEN = 1  # player, value = pellet index, points = 10
    ENERGIZER_EATEN = 2  # player, value = pellet index, points = 50
    GHOST_EATEN = 3  # player, other = ghost id, points = 200/400/800/1600
    PLAYER_CAUGHT = 4  # player (the victim), other = ghost id
    RIVAL_EATEN = 5  # player (the eater), other = victim player id, points = 1000
    LIFE_LOST = 6  # player, value = lives left
    RESPAWNED = 7  # player
    FRUIT_APPEARED = 8  # value = Fruit
    FRUIT_EATEN = 9  # player, value = Fruit, points
    FRUIT_EXPIRED = 10  # value = Fruit
    EXTRA_LIFE = 11  # player, value = lives now
    FRIGHT_STARTED = 12  # value = fright frames
    FRIGHT_ENDED = 13
    LEVEL_CLEARED = 14  # value = the level just cleared
    LEVEL_STARTED = 15  # value = the new level
    PLAYER_OUT = 16  # player has no lives left
    GAME_OVER = 17  # player = winner id or None
    PLAYER_JOINED = 18  # player
    PLAYER_LEFT = 19  # player


@dataclass(init=False, unsafe_hash=True, slots=True)
class Event:
    """One thing that happened in a step. Immutable (`Final`, checked by mypy) rather than a
    frozen dataclass: a step can emit dozens, and compiled, a hand-written `__init__` builds
    one about 30 times faster than the one `dataclass` generates (which stays interpreted)."""

    kind: Final[EventKind]
    frame: Final[int]
    player: Final[int | None]
    other: Final[int | None]
    value: Final[int]
    points: Final[int]

    def __init__(
        self,
        kind: EventKind,
        frame: int,
        player: int | None = None,
        other: int | None = None,
        value: int = 0,
        points: int = 0,
    ) -> None:
        self.kind = kind
        self.frame = frame
        self.player = player
        self.other = other
        self.value = value
        self.points = points


@dataclass(frozen=True, slots=True)
class PlayerView:
    id: int
    x: int
    y: int
    direction: Direction
    state: PlayerState
    powered: bool  # ate an energizer and can eat rivals (arena) / ghosts
    protected: bool  # just (re)spawned: nothing can eat it, it can eat no one
    score: int
    lives: int


@dataclass(frozen=True, slots=True)
class GhostView:
    id: GhostId
    x: int
    y: int
    direction: Direction
    look: GhostLook


@dataclass(frozen=True, slots=True)
class ArenaView:
    frame: int
    level: int
    phase: Phase
    players: tuple[PlayerView, ...]  # sorted by id
    ghosts: tuple[GhostView, ...]  # Blinky, Pinky, Inky, Clyde
    pellets: int  # bitmask over the maze's pellet list: bit i set = pellet i still there
    pellets_left: int
    fruit: Fruit  # the fruit showing now, or NONE
    fright_frames_left: int
    winner: int | None  # set once the phase is GAME_OVER


# A player in a `Snapshot`: id, x, y, direction, state, powered, protected, score, lives.
PlayerRow = tuple[int, int, int, int, int, int, int, int, int]
# A ghost in a `Snapshot`: id, x, y, direction, look.
GhostRow = tuple[int, int, int, int, int]


class Snapshot(NamedTuple):
    """The same picture as `ArenaView` as plain ints in tuples: cheap to build and to pack.

    Enums are their int values and flags are 0/1; rows keep the order of the `PlayerView`
    and `GhostView` fields. This is what the frame encoder reads on every send tick.
    """

    frame: int
    level: int
    phase: int
    fruit: int
    fright_frames_left: int
    pellets: int
    pellets_left: int
    winner: int | None
    players: tuple[PlayerRow, ...]  # sorted by id
    ghosts: tuple[GhostRow, ...]  # Blinky, Pinky, Inky, Clyde


def snapshot_of(view: ArenaView) -> Snapshot:
    """The `Snapshot` that says exactly what `view` says."""
    return Snapshot(
        view.frame,
        view.level,
        int(view.phase),
        int(view.fruit),
        view.fright_frames_left,
        view.pellets,
        view.pellets_left,
        view.winner,
        tuple(
            (
                p.id,
                p.x,
                p.y,
                int(p.direction),
                int(p.state),
                int(p.powered),
                int(p.protected),
                p.score,
                p.lives,
            )
            for p in view.players
        ),
        tuple((int(g.id), g.x, g.y, int(g.direction), int(g.look)) for g in view.ghosts),
    )
