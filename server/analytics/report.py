"""Text rendering of the aggregates for the command line."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any], stream: str, group: str, this_run: int) -> str:
    """A short human-readable summary of `Totals.report()`."""
    lines = [
        f"Pac-Arena analytics: stream {stream}, group {group}",
        f"events: {report['events']} in total, {this_run} new in this run",
        f"games: {report['games']}",
        "games per hour (UTC):",
    ]
    lines += [f"  {hour}  {n}" for hour, n in report["games_per_hour"].items()] or ["  (none)"]
    scores = report["scores"]
    best = ", ".join(f"{b['player']} {b['score']}" for b in scores["best"]) or "(none)"
    lines.append(f"scores: {scores['count']} results, average {scores['average']}, best {best}")
    deaths = ", ".join(f"{ghost} {n}" for ghost, n in report["deaths_by_ghost"].items())
    lines.append(f"deaths by ghost: {deaths or '(none)'}")
    rooms = ", ".join(f"{r['room']} {r['joins']}" for r in report["busiest_rooms"])
    lines.append(f"busiest rooms (joins): {rooms or '(none)'}")
    lines.append(f"chat lines: {report['chat_lines']}")
    return "\n".join(lines)
