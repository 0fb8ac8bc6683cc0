"""Steal time read from /proc/stat-shaped text."""

from __future__ import annotations

from pathlib import Path

from bench import host

STAT = """\
cpu  {u} 0 {s} {i} 0 0 0 {st} 5 0
cpu0 {u0} 0 0 {i0} 0 0 0 {st0} 5 0
cpu1 {u1} 0 0 {i1} 0 0 0 {st1} 0 0
intr 1 2 3
cpu9 this line is past the cpu lines and is not read
"""


def write(path: Path, cores: list[tuple[int, int, int]]) -> Path:
    """cores: (user, idle, steal) of cpu0 and cpu1; the all-cores line is their sum."""
    (u0, i0, st0), (u1, i1, st1) = cores
    path.write_text(
        STAT.format(
            u=u0 + u1, s=0, i=i0 + i1, st=st0 + st1, u0=u0, i0=i0, st0=st0, u1=u1, i1=i1, st1=st1
        )
    )
    return path


def test_ticks_are_read_per_core_and_for_all(tmp_path: Path) -> None:
    ticks = host.cpu_ticks(write(tmp_path / "stat", [(10, 80, 10), (50, 50, 0)]))
    # guest time (the 9th field) is already inside user time, so it is not added again
    assert ticks == {None: (10, 200), 0: (10, 100), 1: (0, 100)}


def test_steal_is_the_worst_core_share_over_the_interval(tmp_path: Path) -> None:
    before = host.cpu_ticks(write(tmp_path / "a", [(0, 0, 0), (0, 0, 0)]))
    after = host.cpu_ticks(write(tmp_path / "b", [(60, 10, 30), (90, 10, 0)]))
    assert host.steal_pct(before, after, [0]) == 30.0
    assert host.steal_pct(before, after, [1]) == 0.0
    assert host.steal_pct(before, after, [0, 1]) == 30.0
    assert host.steal_pct(before, after, [None]) == 15.0


def test_nothing_to_tell_is_none(tmp_path: Path) -> None:
    assert host.cpu_ticks(tmp_path / "missing") == {}
    same = host.cpu_ticks(write(tmp_path / "stat", [(1, 1, 1), (1, 1, 1)]))
    assert host.steal_pct(same, same, [0]) is None  # no time passed
    assert host.steal_pct({}, {}, [0]) is None
    assert host.steal_pct(same, same, [7]) is None  # a core this machine does not have


def test_notes_and_cells() -> None:
    assert host.steal_note(None) == host.steal_note(0.4) == ""
    assert host.steal_note(12.5) == ", steal 12.5%"
    assert host.steal_cell({}) == "-"
    assert host.steal_cell({"steal_pct": 3.0}) == "3"


def test_this_machine_reads() -> None:
    ticks = host.cpu_ticks()
    if Path("/proc/stat").exists():
        assert None in ticks and 0 in ticks
        steal, total = ticks[None]
        assert 0 <= steal <= total
