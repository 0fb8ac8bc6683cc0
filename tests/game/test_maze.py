"""The maze loader and validator, checked against the rules sheet §1."""

from __future__ import annotations

import pytest

from server.game import MazeError, classic_maze, load_maze, parse_maze
from server.game.maze import tile_index


def test_classic_counts_match_the_sheet() -> None:
    m = classic_maze()
    assert len(m.rows) == 36 and all(len(r) == 28 for r in m.rows)
    assert m.pellet_count == 244
    assert sorted(m.pellet_tiles[i] for i in m.energizers) == [(1, 6), (1, 26), (26, 6), (26, 26)]
    walkable = [(x, y) for y in range(36) for x in range(28) if m.walk[tile_index(x, y)]]
    assert len(walkable) == 300
    assert len([t for t in walkable if m.pellet_at[tile_index(*t)] < 0]) == 56


def test_pellet_order_is_reading_order() -> None:
    m = classic_maze()
    expected = [(x, y) for y, row in enumerate(m.rows) for x, ch in enumerate(row) if ch in ".o"]
    assert list(m.pellet_tiles) == expected
    assert m.pellet_tiles[0] == (1, 4)
    for i, (x, y) in enumerate(m.pellet_tiles):
        assert m.pellet_at[tile_index(x, y)] == i


def test_special_tiles() -> None:
    m = classic_maze()
    assert m.door == (13, 15)
    assert m.start == (111, 212)  # halfway between tiles 13 and 14 on row 26
    assert m.house_entry == (111, 116)
    assert m.house_centre == (111, 140)
    assert m.house_slots[2:] == (95, 127)
    assert m.fruit == (111, 164)
    no_up = {(x, y) for y in range(36) for x in range(28) if m.no_up[tile_index(x, y)]}
    assert no_up == {(x, y) for x in range(11, 17) for y in (14, 26)}
    slow = {(x, y) for y in range(36) for x in range(-2, 30) if m.slow[tile_index(x, y)]}
    # ROM colour 0x1B: x 0-4 and 23-27 of row 17 (not the remakes' 6 tiles), plus hidden columns
    assert slow == {(x, 17) for x in [*range(-2, 5), *range(23, 30)]}
    # door and house are walls for tile movement
    assert not m.walk[tile_index(13, 15)] and not m.walk[tile_index(12, 17)]
    # the tunnel wraps: left of x=-2 is x=29
    assert m.nbr[4 * tile_index(-2, 17) + 2] == tile_index(29, 17)


def test_load_maze_by_name_and_unknown() -> None:
    assert load_maze("classic").rows == classic_maze().rows
    with pytest.raises(MazeError, match="no maze named"):
        load_maze("nowhere")


def _broken(y: int, x: int, ch: str) -> str:
    rows = list(classic_maze().text.splitlines())
    rows[y] = rows[y][:x] + ch + rows[y][x + 1 :]
    return "\n".join(rows)


@pytest.mark.parametrize(
    ("y", "x", "ch", "message"),
    [
        (8, 0, ".", "row 8 column 0: open border"),
        (3, 5, ".", "row 3 column 5: walkable tile on the maze's top or bottom border"),
        (10, 4, "x", "row 10 column 4: unknown character 'x'"),
        (17, 27, "#", "row 17 column 0: tunnel has no matching exit"),
    ],
)
def test_bad_maze_names_row_and_column(y: int, x: int, ch: str, message: str) -> None:
    with pytest.raises(MazeError, match=message):
        parse_maze(_broken(y, x, ch), "bad")


def test_unreachable_pellet_is_reported() -> None:
    text = _broken(4, 2, "#")
    text = "\n".join(
        row[:1] + "#" + row[2:] if i == 5 else row for i, row in enumerate(text.splitlines())
    )
    # (1,4) is now walled in on the right and below
    with pytest.raises(MazeError, match="row 4 column 1: not reachable"):
        parse_maze(text, "bad")


def test_missing_house_and_meta() -> None:
    no_door = classic_maze().text.replace("==", "##")
    with pytest.raises(MazeError, match="door"):
        parse_maze(no_door, "bad")
    no_start = "\n".join(line for line in classic_maze().text.splitlines() if "start" not in line)
    with pytest.raises(MazeError, match="start"):
        parse_maze(no_start, "bad")
    with pytest.raises(MazeError, match="36 rows"):
        parse_maze("####\n", "bad")


def test_second_maze_loads() -> None:
    m = load_maze("open")
    assert m.name == "open" and m.rows != classic_maze().rows
    assert m.pellet_count > 100 and len(m.spawns) >= 8
