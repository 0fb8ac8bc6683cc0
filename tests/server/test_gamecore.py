"""The server says which game core it runs; from the source tree that is the pure-Python one.

The compiled build's side of this is in tests/game/test_compiled.py (it needs a compiled copy).
"""

from __future__ import annotations

from prometheus_client import generate_latest

from server import gamecore, metrics


def _gauges() -> metrics.Gauges:
    return metrics.Gauges(
        connections=0, rooms=0, players=0, spectators=0, ticks_dropped=0, tick_late_max_s=0.0
    )


def test_the_source_tree_runs_the_pure_core() -> None:
    assert gamecore.kind() == "pure"
    assert gamecore.describe() == "pure Python"


def test_metrics_name_the_core_kind() -> None:
    text = generate_latest(metrics.registry_for(_gauges)).decode()
    assert 'pacarena_game_core{kind="pure"} 1.0' in text.splitlines()
