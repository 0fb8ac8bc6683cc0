"""Per-level tables of the arcade (rules sheet §2-§4); level 21 and later share a row."""

from __future__ import annotations

from dataclasses import dataclass

from server.game.view import Fruit

FRAMES_PER_SECOND = 60
SUBTICKS = 2  # movement half-frames per 60 Hz frame


@dataclass(frozen=True, slots=True)
class Speeds:
    """32-bit ROM move patterns: one bit per sub-tick, 1 = move one pixel (sheet §2.3)."""

    pac: int
    pac_fright: int
    elroy2: int
    elroy1: int
    ghost: int
    ghost_fright: int
    tunnel: int


def move_bits(pattern: int) -> bytes:
    """A 32-bit pattern as 32 bytes, so the hot loop indexes `bits[ph]` instead of shifting."""
    return bytes((pattern >> (31 - ph)) & 1 for ph in range(32))


# ROM table 0x330F, entries 3-6 in the order Pac, Pac fright, Elroy2, Elroy1, ghost, fright, tunnel.
_SPEEDS = (
    Speeds(0x55555555, 0x6AD56AD5, 0x6AAAD555, 0x55555555, 0x2AAA5555, 0x24922492, 0x22222222),
    Speeds(0x6AD56AD5, 0x5AD6B5AD, 0x5AD6B5AD, 0x6AD56AD5, 0x6AAAD555, 0x24924925, 0x24489122),
    Speeds(0x6D6D6D6D, 0x6D6D6D6D, 0x6DB6DB6D, 0x6D6D6D6D, 0x5AD6B5AD, 0x25252525, 0x24922492),
    Speeds(0x6AD56AD5, 0x6AD56AD5, 0x6DB6DB6D, 0x6D6D6D6D, 0x5AD6B5AD, 0x24489122, 0x24922492),
)
# Cumulative frame at which each scatter/chase phase ends (ROM 0x330F); chase after the last.
_SCHEDULES = (
    (420, 1620, 2040, 3240, 3540, 4740, 5040),
    (420, 1620, 2040, 3240, 3540, 65534, 65535),
    (300, 1500, 1800, 3000, 3300, 65534, 65535),
)
_FRIGHT_SECONDS = (6, 5, 4, 3, 2, 5, 2, 2, 1, 5, 2, 1, 1, 3, 1, 1, 0, 1, 0)
_FLASHES = (5, 5, 5, 5, 5, 5, 5, 5, 3, 5, 5, 3, 3, 5, 3, 3, 0, 3, 0)
# Elroy 1 threshold per level (Elroy 2 is half). Levels 12-14 use the ROM's 80, not SLB's 70.
_ELROY = (20, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60, 80, 80, 80, 100, 100, 100, 100, 120)
_HOUSE_LIMITS = ((0, 30, 60), (0, 0, 50), (0, 0, 0))  # Pinky, Inky, Clyde (ROM 0x0843)
_FRUIT = (
    (Fruit.CHERRIES, 100),
    (Fruit.STRAWBERRY, 300),
    (Fruit.PEACH, 500),
    (Fruit.PEACH, 500),
    (Fruit.APPLE, 700),
    (Fruit.APPLE, 700),
    (Fruit.GRAPES, 1000),
    (Fruit.GRAPES, 1000),
    (Fruit.GALAXIAN, 2000),
    (Fruit.GALAXIAN, 2000),
    (Fruit.BELL, 3000),
    (Fruit.BELL, 3000),
    (Fruit.KEY, 5000),
)

FRUIT_PELLETS = (70, 170)  # fruit shows after this many pellets of the level (ROM 0x0EB7)
FRUIT_FRAMES = 9 * FRAMES_PER_SECOND  # plus a random 0..59: the ROM's 9-10 s with a random phase
GHOST_POINTS = (200, 400, 800, 1600)
DOT_POINTS = 10
ENERGIZER_POINTS = 50
RIVAL_POINTS = 1000
EXTRA_LIFE_SCORE = 10_000
START_LIVES = 3
DOT_PAUSE = 2  # sub-ticks (1 frame)
ENERGIZER_PAUSE = 7  # sub-ticks: the ROM counter's 3.5 frames, not the Dossier's 3 (sheet §7.4)
FLASH_FRAMES = 14  # a flash is 14 frames white then 14 blue
GLOBAL_RELEASE = (7, 17, 32)  # global counter values for Pinky, Inky, Clyde after a death
SCATTER_TARGETS = ((25, -1), (2, -1), (27, 34), (0, 34))  # ROM rows (-1), not the remakes' 0


@dataclass(frozen=True, slots=True)
class Level:
    """Everything that varies with the level number."""

    number: int
    speeds: Speeds
    schedule: tuple[int, ...]
    fright_frames: int
    flashes: int
    elroy1: int
    elroy2: int
    house_limits: tuple[int, int, int]
    inactivity_frames: int
    fruit: Fruit
    fruit_points: int


def _build(number: int) -> Level:
    n = min(number, 21)
    speeds = _SPEEDS[0 if n == 1 else 1 if n <= 4 else 2 if n <= 20 else 3]
    elroy = _ELROY[min(n, 19) - 1]
    fruit, points = _FRUIT[min(n, 13) - 1]
    return Level(
        number=number,
        speeds=speeds,
        schedule=_SCHEDULES[0 if n == 1 else 1 if n <= 4 else 2],
        fright_frames=_FRIGHT_SECONDS[min(n, 19) - 1] * FRAMES_PER_SECOND,
        flashes=_FLASHES[min(n, 19) - 1],
        elroy1=elroy,
        elroy2=elroy // 2,
        house_limits=_HOUSE_LIMITS[min(n, 3) - 1],
        inactivity_frames=240 if n <= 4 else 180,
        fruit=fruit,
        fruit_points=points,
    )


_LEVELS = tuple(_build(n) for n in range(1, 22))


def level(number: int) -> Level:
    """The table row for a level (1-based); every level from 21 on plays like 21."""
    if number < 1:
        raise ValueError(f"level {number} < 1")
    if number <= 21:
        return _LEVELS[number - 1]
    return _build(number)
