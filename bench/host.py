"""How much of each core the host let us have: steal time, from /proc/stat.

On a shared virtual machine the hypervisor runs other guests on our cores; the time it takes
("steal") shows as lateness no process here can help. Every step records the steal on the
server's cores over its window, so a reader can tell a slow step from a disturbed one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STAT = Path("/proc/stat")

# (steal, total) jiffies per core; key None is the line for all cores together.
Ticks = dict[int | None, tuple[int, int]]


def cpu_ticks(stat: Path = STAT) -> Ticks:
    """Steal and total jiffies per core; empty where there is no /proc/stat."""
    try:
        text = stat.read_text()
    except OSError:
        return {}
    ticks: Ticks = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            break  # the cpu lines come first
        name, *fields = line.split()
        # user nice system idle iowait irq softirq steal (guest time is inside user already)
        values = [int(f) for f in fields[:8]]
        if len(values) < 8:
            continue
        core = None if name == "cpu" else int(name[3:])
        ticks[core] = (values[7], sum(values))
    return ticks


def steal_pct(before: Ticks, after: Ticks, cores: Iterable[int | None]) -> float | None:
    """The most any of `cores` lost to steal between two readings, in % of its time; None
    when there is nothing to tell (no /proc/stat, or no time passed)."""
    worst: float | None = None
    for core in set(cores):
        if core not in before or core not in after:
            continue
        steal = after[core][0] - before[core][0]
        total = after[core][1] - before[core][1]
        if total > 0:
            pct = 100 * steal / total
            worst = pct if worst is None else max(worst, pct)
    return None if worst is None else round(worst, 1)


def idle_steal_pct(seconds: float = 2.0) -> float | None:
    """Steal across all cores over `seconds` of (our) idleness: how busy the neighbours are."""
    before = cpu_ticks()
    time.sleep(seconds)
    return steal_pct(before, cpu_ticks(), [None])


def steal_note(pct: float | None) -> str:
    """A step's steal for its progress line: nothing when there was none to speak of."""
    return f", steal {pct:g}%" if pct is not None and pct >= 1 else ""


def steal_cell(row: dict[str, Any]) -> str:
    """A step's steal for the steps tables ("-" for results from before it was recorded)."""
    pct = row.get("steal_pct")
    return "-" if pct is None else f"{pct:g}"
