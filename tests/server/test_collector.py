"""The garbage collector's settings: startup frozen, a large young generation, pauses timed.

Run in a child process: the settings are process-wide and the test runner's own must stay.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.server.test_main import ROOT

CHILD = """
import gc, json
from prometheus_client import generate_latest
from server import collector
from server.metrics import STATS, Gauges, registry_for

collector.tune()
collector.tune()  # twice: still one timer
frozen = gc.get_freeze_count()

class Node:
    pass

for _ in range(40_000):  # two-node cycles: only the collector frees them
    a, b = Node(), Node()
    a.other, b.other = b, a
del a, b
young = sum(STATS.gc_pause[0].counts)
left = sum(isinstance(o, Node) for o in gc.get_objects())
gauges = Gauges(0, 0, 0, 0, 0, 0.0)
text = generate_latest(registry_for(lambda: gauges)).decode()
exposed = 'pacarena_gc_pause_seconds_count{generation="0"}' in text
timers = gc.callbacks.count(collector._timed)
print(json.dumps({
    "threshold": gc.get_threshold(), "frozen": frozen, "timers": timers,
    "young": young, "left": left, "exposed": exposed,
}))
"""


def test_tune_freezes_startup_raises_the_young_threshold_and_times_collections() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["threshold"] == [5_000, 10, 10]
    assert got["frozen"] > 1000  # the modules, classes and functions imported so far
    assert got["timers"] == 1
    # 80,000 objects in cycles: about sixteen young collections, not a hundred, and they freed
    # the cycles (fewer than one young generation's worth left).
    assert 8 <= got["young"] <= 40
    assert got["left"] < 2 * 5_000
    assert got["exposed"]
