"""Percentiles and frame-arrival lateness, computed the same way for the server and the ceiling."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100, nearest rank) of already sorted values; 0.0 when empty."""
    if not values:
        return 0.0
    rank = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return float(values[rank])


def percentiles(values: Sequence[float], qs: Sequence[float]) -> dict[str, float]:
    """{"p50": ..., "p99": ...} for sorted values ("min" for 0, "max" for 100)."""
    out: dict[str, float] = {}
    for q in qs:
        name = "min" if q == 0 else "max" if q == 100 else f"p{q:g}"
        out[name] = round(percentile(values, q), 4)
    return out


def lateness_ms(
    series: Sequence[tuple[Sequence[float], Sequence[int]]],
    tick_hz: int,
    t0: float | None = None,
    slice_s: float = 1.0,
    memory_s: float = 1.0,
) -> dict[str, Any]:
    """How late state frames arrive against the simulation clock they carry.

    Each series is (arrival times in s, simulation frame numbers) of one connection, with a
    frame number of -1 starting a new segment (a new room). A frame due at `frame / tick_hz`
    should arrive a constant offset after that; the smallest offset seen over the previous
    `memory_s` (this frame included) counts as on time and the frame's excess over it is its
    lateness. The trailing minimum, rather than one for the whole run, follows a server that
    re-bases its schedule after dropping ticks, as its own lateness gauge would. This folds the
    server's tick lateness together with its fan-out time and the bots' own delays, so it is an
    upper bound on the tick lateness; the ceiling is measured by the very same code.

    With `t0` (the window's start on the same clock), samples are also cut into `slice_s`
    slices: `slice_p99` is the median over slices of each slice's p99. On a shared machine a
    single stall of the whole host (seen here at up to a second, in the ceiling too) decides a
    window's p99 alone; the per-slice median shows the steady state and the window p99 the worst.
    """
    samples: list[float] = []
    slices: dict[int, list[float]] = {}
    due_bins: dict[int, float] = {}  # ms bin of the on-time arrival -> least lateness seen
    period = 1.0 / tick_hz
    for times, frames in series:
        window: deque[tuple[float, float]] = deque()  # (time, offset), offsets increasing
        previous = -1
        for t, frame in zip(times, frames, strict=True):
            if frame < 0 or frame <= previous:
                window.clear()  # a new room, or a clock that did not advance: start over
            previous = frame
            if frame < 0:
                continue
            offset = t - frame * period
            while window and window[-1][1] >= offset:
                window.pop()
            window.append((t, offset))
            while window[0][0] < t - memory_s:
                window.popleft()
            late = (offset - window[0][1]) * 1000
            samples.append(late)
            due = int((t - late / 1000) * 1000)
            if late < due_bins.get(due, 1e9):
                due_bins[due] = late
            if t0 is not None:
                slices.setdefault(int((t - t0) // slice_s), []).append(late)
    samples.sort()
    result: dict[str, Any] = percentiles(samples, (50, 90, 99, 100))
    result["samples"] = len(samples)
    if slices:
        per_slice = sorted(percentile(sorted(v), 99) for v in slices.values())
        result["slice_p99"] = round(per_slice[len(per_slice) // 2], 4)
        result["slice_p99_max"] = round(per_slice[-1], 4)
        result["slices"] = len(per_slice)
    result["tick"] = tick_lateness_ms(due_bins, tick_hz, t0, slice_s)
    return result


def tick_lateness_ms(
    due_bins: dict[int, float], tick_hz: int, t0: float | None, slice_s: float
) -> dict[str, Any]:
    """Tick lateness seen from outside: per server tick, the least late of all its frames.

    Every frame a tick sends is due at about the same moment (the `due` bins, in ms); frames
    of one tick cluster within a few ms, clusters of different ticks lie a tick period apart.
    The earliest frame of a cluster left when the tick ran, so its lateness is the tick's.
    What the rest of the cluster adds is fan-out and the bots draining a burst of thousands of
    frames in some order: that is delivery lateness, not tick lateness.
    """
    gap = max(2, int(1000 / tick_hz / 2))  # half a tick period, in ms bins
    ticks: list[tuple[int, float]] = []  # (first bin of the cluster, least lateness)
    previous = None
    for key in sorted(due_bins):
        if previous is not None and key - previous <= gap:
            start, least = ticks[-1]
            ticks[-1] = (start, min(least, due_bins[key]))
        else:
            ticks.append((key, due_bins[key]))
        previous = key
    values = sorted(late for _, late in ticks)
    result: dict[str, Any] = percentiles(values, (50, 99, 100))
    result["ticks"] = len(values)
    if t0 is not None and ticks:
        by_slice: dict[int, list[float]] = {}
        for key, late in ticks:
            by_slice.setdefault(int((key / 1000 - t0) // slice_s), []).append(late)
        per_slice = sorted(percentile(sorted(v), 99) for v in by_slice.values())
        result["slice_p99"] = round(per_slice[len(per_slice) // 2], 4)
        result["slice_p99_max"] = round(per_slice[-1], 4)
    return result
