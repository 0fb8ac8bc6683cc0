"""CPU budgets for server processes: a cgroup v1 CFS quota per process (needs root).

Figure 6 gives every server process the same share of a core this way, since two cores cannot
hold two pinned servers next to the bots.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")


@dataclass(frozen=True)
class Budget:
    """A CFS quota: `quota_us` of CPU time in every `period_us` (both >= 1000 us).

    10 ms periods: measured here, a busy loop under 1 ms per 2 ms got 42% of a core, not 50%,
    and a server using 18% was throttled in 38% of the periods (each tick's burst is longer
    than 1 ms); under 5 ms per 10 ms the loop got 49.9% and such a server was not throttled.
    The price is that a server at its budget can wait up to 5 ms for the next period, which
    is what its tick lateness then shows: the budget is spent.
    """

    period_us: int = 10_000
    quota_us: int = 5_000

    @property
    def cores(self) -> float:
        return self.quota_us / self.period_us


HALF_CORE = Budget()


class CpuGroup:
    """One cgroup v1 CPU group holding one process under a quota; `remove()` when done."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, name: str, budget: Budget, nice: int) -> CpuGroup:
        path = CGROUP_CPU / name
        path.mkdir()
        group = cls(path)
        try:
            # The period first: the default quota is unlimited, so any period is accepted.
            group._write("cpu.cfs_period_us", budget.period_us)
            group._write("cpu.cfs_quota_us", budget.quota_us)
            # A group competes with the other tasks of its parent as one task of weight
            # `cpu.shares`; give it the weight the nice level buys a process in figure 1.
            group._write("cpu.shares", nice_weight(nice))
        except OSError:
            group.remove()
            raise
        return group

    def _write(self, name: str, value: int) -> None:
        (self.path / name).write_text(f"{value}\n")

    def add(self, pid: int) -> None:
        """Move the whole process (every thread) into the group."""
        self._write("cgroup.procs", pid)

    def stat(self) -> dict[str, int]:
        """nr_periods, nr_throttled and throttled_time (ns) so far."""
        lines = (self.path / "cpu.stat").read_text().splitlines()
        return {k: int(v) for k, v in (line.split() for line in lines if line.count(" ") == 1)}

    def remove(self) -> None:
        """Hand any task still inside back to the parent group, then delete the group."""
        with suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with suppress(OSError):
                    (CGROUP_CPU / "cgroup.procs").write_text(f"{pid}\n")
        for _ in range(50):  # the kernel frees a group a moment after its last task exits
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def nice_weight(nice: int) -> int:
    """The scheduler weight of a task at `nice` (1024 at 0, x1.25 per step; the kernel's table)."""
    return max(2, min(262144, round(1024 * 1.25 ** (-nice))))


def budget_problem() -> str | None:
    """Why CPU quotas cannot be set here, or None when a test group can be made and removed."""
    if not (CGROUP_CPU / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {CGROUP_CPU}"
    try:
        group = CpuGroup.create(f"pac-arena-probe-{os.getpid()}", HALF_CORE, 0)
    except OSError as exc:
        return f"cannot make a cpu cgroup under {CGROUP_CPU}: {exc.strerror or exc}"
    group.remove()
    return None


@contextmanager
def cpu_group(name: str, budget: Budget | None, nice: int) -> Iterator[CpuGroup | None]:
    """A quota group for one server, or None when the figure runs without budgets."""
    if budget is None:
        yield None
        return
    group = CpuGroup.create(name, budget, nice)
    try:
        yield group
    finally:
        group.remove()
