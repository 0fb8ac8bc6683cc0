"""Parse and validate an ASCII maze into flat tile tables the movement code indexes directly.

A maze file holds 36 rows of 28 characters (the legend of the rules sheet §1.2) followed by
`key: value` lines: `start: x,y` (Pac-Man's start tile; he stands halfway to the tile on its
right, as in the arcade), `fruit: x,y` (likewise halfway to the right) and `spawns: x,y x,y ...`
(more arena spawn tiles, used after the start tile).

Tiles are indexed on a 32-column grid: column `c = x + 2` covers x = -2..29, so the two hidden
tunnel columns past each screen edge have real cells and wrapping is `c & 31`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cache
from importlib import resources

from server.game.errors import MazeError

WIDTH = 28
HEIGHT = 36
COLS = 32  # WIDTH plus two hidden tunnel columns on each side
LEGEND = frozenset("_#. oT=H")
WALKABLE = frozenset(". oT")
PELLETS = frozenset(".o")


def tile_index(x: int, y: int) -> int:
    """Index of screen tile (x, y) in the flat 32-column tables (x may be -2..29)."""
    return y * COLS + ((x + 2) & 31)


@dataclass(frozen=True, slots=True, eq=False)
class Maze:
    """A validated maze: the rows as text plus flat per-tile tables for the hot loop."""

    name: str
    text: str  # the source text, kept so a snapshot can rebuild the maze
    rows: tuple[str, ...]
    pellet_tiles: tuple[tuple[int, int], ...]  # pellet i = i-th '.' or 'o' in reading order
    energizers: frozenset[int]  # pellet indices that are energizers
    walk: bytes  # per tile index: 1 = Pac-Man and ghosts may walk here (door/house excluded)
    slow: bytes  # per tile index: 1 = ghost tunnel speed applies
    no_up: bytes  # per tile index: 1 = a scatter/chase ghost may not choose up here
    pellet_at: tuple[int, ...]  # per tile index: pellet index or -1
    nbr: tuple[int, ...]  # nbr[4 * i + d]: tile index next to tile i in direction d (wrapping)
    start: tuple[int, int]  # Pac-Man's start pixel (the classic start is between two tiles)
    spawns: tuple[tuple[int, int], ...]  # arena spawn pixels, the start first
    fruit: tuple[int, int]  # fruit pixel
    door: tuple[int, int]  # left door tile
    house_entry: tuple[int, int]  # pixel above the door where ghosts leave and eyes enter
    house_centre: tuple[int, int]  # pixel where Pinky waits and eyes land
    house_slots: tuple[int, int, int, int]  # waiting x pixel for Blinky, Pinky, Inky, Clyde
    opens: bytes  # opens[4 * i + d] = walk[nbr[4 * i + d]]: one lookup in the hot loop

    @property
    def pellet_count(self) -> int:
        return len(self.pellet_tiles)


def _pixel(x: int, y: int) -> tuple[int, int]:
    return 8 * x + 3, 8 * y + 4


def _parse_point(text: str, key: str, line: int) -> tuple[int, int]:
    try:
        xs, ys = text.split(",")
        return int(xs), int(ys)
    except ValueError:
        raise MazeError(f"line {line + 1}: {key} needs 'x,y', got {text!r}") from None


def parse_maze(text: str, name: str = "maze") -> Maze:
    """Parse and validate maze text; raise MazeError naming the row and column of a fault."""
    lines = text.splitlines()
    if len(lines) < HEIGHT:
        raise MazeError(f"{name}: needs {HEIGHT} rows, found {len(lines)}")
    rows = tuple(lines[:HEIGHT])
    for y, row in enumerate(rows):
        if len(row) != WIDTH:
            raise MazeError(f"{name}: row {y} has {len(row)} columns, expected {WIDTH}")
        for x, ch in enumerate(row):
            if ch not in LEGEND:
                raise MazeError(f"{name}: row {y} column {x}: unknown character {ch!r}")
    meta: dict[str, list[tuple[int, int]]] = {}
    for n, line in enumerate(lines[HEIGHT:], start=HEIGHT):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in ("start", "fruit", "spawns"):
            raise MazeError(f"{name}: line {n + 1}: expected start:, fruit: or spawns:")
        meta[key] = [_parse_point(p, key, n) for p in value.split()]
    for key in ("start", "fruit"):
        if len(meta.get(key, [])) != 1:
            raise MazeError(f"{name}: needs exactly one '{key}: x,y' line")
    return _build(name, text, rows, meta)


def _build(
    name: str, text: str, rows: tuple[str, ...], meta: dict[str, list[tuple[int, int]]]
) -> Maze:
    def at(x: int, y: int) -> str:
        return rows[y][x] if 0 <= x < WIDTH and 0 <= y < HEIGHT else "_"

    def fail(x: int, y: int, why: str) -> MazeError:
        return MazeError(f"{name}: row {y} column {x}: {why}")

    # Closed borders: an open edge tile must be a tunnel whose opposite edge is open too.
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch == "_":
                continue
            if ch in WALKABLE and (y == 0 or y == HEIGHT - 1 or at(x, y - 1) == "_"):
                raise fail(x, y, "walkable tile on the maze's top or bottom border")
            if ch in WALKABLE and at(x, y + 1) == "_":
                raise fail(x, y, "walkable tile on the maze's top or bottom border")
            if x in (0, WIDTH - 1) and ch in WALKABLE:
                if ch != "T":
                    raise fail(x, y, "open border: only a tunnel 'T' may touch the edge")
                if at(WIDTH - 1 - x, y) != "T":
                    raise fail(x, y, "tunnel has no matching exit on the other edge")
    doors = [(x, y) for y, row in enumerate(rows) for x, ch in enumerate(row) if ch == "="]
    house = [(x, y) for y, row in enumerate(rows) for x, ch in enumerate(row) if ch == "H"]
    if len(doors) != 2 or doors[0][1] != doors[1][1] or doors[1][0] != doors[0][0] + 1:
        raise MazeError(f"{name}: needs a door of exactly two '=' side by side")
    (dx, dy) = doors[0]
    if not house:
        raise MazeError(f"{name}: needs a ghost house ('H' tiles)")
    hys = sorted({y for _, y in house})
    hxs = sorted({x for x, _ in house})
    if at(dx, dy + 1) != "H" or at(dx + 1, dy + 1) != "H":
        raise fail(dx, dy + 1, "the door must open onto the house")
    if at(dx, dy - 1) not in WALKABLE or at(dx + 1, dy - 1) not in WALKABLE:
        raise fail(dx, dy - 1, "the tiles above the door must be walkable")
    if len(hys) < 3 or hxs[0] > dx - 2 or hxs[-1] < dx + 3:
        raise MazeError(f"{name}: the house must be at least 3 rows and reach 2 tiles each side")

    walk = bytearray(HEIGHT * COLS)
    slow = bytearray(HEIGHT * COLS)
    no_up = bytearray(HEIGHT * COLS)
    pellet_at = [-1] * (HEIGHT * COLS)
    pellet_tiles: list[tuple[int, int]] = []
    energizers: set[int] = set()
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            i = tile_index(x, y)
            if ch in WALKABLE:
                walk[i] = 1
            if ch == "T":  # classic: x 0-4 and 23-27, the ROM's zone, not the remakes' 6 tiles
                slow[i] = 1
            if ch in PELLETS:
                if ch == "o":
                    energizers.add(len(pellet_tiles))
                pellet_at[i] = len(pellet_tiles)
                pellet_tiles.append((x, y))
        if row[0] == "T":  # hidden columns past each edge: walkable, and slow like the mouth
            for x in (-2, -1, WIDTH, WIDTH + 1):
                walk[tile_index(x, y)] = 1
                slow[tile_index(x, y)] = 1
    if not pellet_tiles:
        raise MazeError(f"{name}: the maze has no pellets")

    start = meta["start"][0]
    fruit = meta["fruit"][0]
    for key, (x, y) in (("start", start), ("fruit", fruit)):
        if at(x, y) not in WALKABLE or at(x + 1, y) not in WALKABLE:
            raise fail(x, y, f"{key} needs this tile and the one on its right walkable")
    spawn_tiles = [start, *meta.get("spawns", [])]
    for x, y in spawn_tiles[1:]:
        if at(x, y) not in WALKABLE:
            raise fail(x, y, "spawn tile is not walkable")
    if len(set(spawn_tiles)) < 8:
        raise MazeError(f"{name}: needs 8 distinct spawn tiles (start plus 7 spawns)")

    # Every pellet and spawn must be reachable from the start.
    seen = {tile_index(*start)}
    queue = deque(seen)
    while queue:
        i = queue.popleft()
        y, c = divmod(i, COLS)
        for j in ((y - 1) * COLS + c, (y + 1) * COLS + c, y * COLS + ((c + 1) & 31)):
            if 0 <= j < len(walk) and walk[j] and j not in seen:
                seen.add(j)
                queue.append(j)
        j = y * COLS + ((c - 1) & 31)
        if walk[j] and j not in seen:
            seen.add(j)
            queue.append(j)
    for x, y in [*pellet_tiles, *spawn_tiles, (dx, dy - 1)]:
        if tile_index(x, y) not in seen:
            raise fail(x, y, "not reachable from the start tile")

    # No-up zones: the corridor above the door and the start corridor, door width + 2 each side.
    for zy in (dy - 1, start[1]):
        for x in range(dx - 2, dx + 4):
            no_up[tile_index(x, zy)] = 1

    nbr: list[int] = []
    for i in range(HEIGHT * COLS):
        y, c = divmod(i, COLS)
        up = i - COLS if y > 0 else i
        down = i + COLS if y < HEIGHT - 1 else i
        nbr += (y * COLS + ((c + 1) & 31), down, y * COLS + ((c - 1) & 31), up)
    centre_y = 8 * hys[len(hys) // 2] + 4
    door_px = 8 * dx + 7
    return Maze(
        name=name,
        text=text,
        rows=rows,
        pellet_tiles=tuple(pellet_tiles),
        energizers=frozenset(energizers),
        walk=bytes(walk),
        slow=bytes(slow),
        no_up=bytes(no_up),
        pellet_at=tuple(pellet_at),
        nbr=tuple(nbr),
        start=(8 * start[0] + 7, 8 * start[1] + 4),
        spawns=((8 * start[0] + 7, 8 * start[1] + 4), *(_pixel(x, y) for x, y in spawn_tiles[1:])),
        fruit=(8 * fruit[0] + 7, 8 * fruit[1] + 4),
        door=(dx, dy),
        house_entry=(door_px, 8 * (dy - 1) + 4),
        house_centre=(door_px, centre_y),
        house_slots=(door_px, door_px, door_px - 16, door_px + 16),
        opens=bytes(walk[j] for j in nbr),
    )


def load_maze(name: str) -> Maze:
    """Load a packaged maze by name (`classic`, ...) from server/game/mazes/<name>.txt."""
    if not name.isidentifier():
        raise MazeError(f"bad maze name {name!r}")
    try:
        text = resources.files("server.game").joinpath("mazes", f"{name}.txt").read_text("utf-8")
    except FileNotFoundError:
        raise MazeError(f"no maze named {name!r}") from None
    return parse_maze(text, name)


@cache
def classic_maze() -> Maze:
    """The arcade maze of the rules sheet §1.2 (loaded once and shared: Maze is immutable)."""
    return load_maze("classic")
