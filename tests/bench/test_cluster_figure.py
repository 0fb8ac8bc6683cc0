"""Figure 6's harness: one server against two plus a private Redis, real processes, tiny sizes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cluster, cpubudget
from bench.fleet import Fleet, FleetOptions
from tests.support.timing import TIMED

pytestmark = TIMED

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_measures_one_process_and_two_with_redis(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "--quick", "--figures", "6", "--tree", "work"]
    argv += ["--core", "pure", "--fig6-rooms", "parties"]  # parties: the relay path is used
    done = subprocess.run(
        [*argv, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 6 players at the tick bar" in done.stdout
    assert "Steps of figure 6" in done.stdout
    fig = json.loads((tmp_path / "latest.json").read_text())["cluster"]
    # With root and a cgroup v1 cpu controller the servers are budgeted; elsewhere it says so.
    if fig["budget"] is None:
        assert fig["note"].startswith("no cpu budget"), fig["note"]
    else:
        assert fig["budget"]["cores"] == 0.5
    by_layout = {r["target"]: r for r in fig["rows"]}
    assert set(by_layout) == {"single", "cluster"}, fig["broken"]
    for layout, row in by_layout.items():
        assert row["errors"] == {}, (layout, row["errors"])
        assert row["seated"] == row["players"] == 8, layout
        assert row["frame_ratio"]["min"] == 1.0, layout
        assert row["rooms"] == 1, layout
        assert all(s["cpu_pct"] > 0 for s in row["servers"]), layout
    single, pair = by_layout["single"], by_layout["cluster"]
    assert [s["clients"] for s in single["servers"]] == [8]
    # Dealt in turn over two ports: four players on each process, in one room across both.
    assert [s["clients"] for s in pair["servers"]] == [4, 4]
    assert pair["rooms_across_ports"] == 1 and single["rooms_across_ports"] == 0
    # Tick lateness from outside is taken per owning process: the first party's leader is on
    # the first port, so that process owns the room and the second owns none.
    owner, relay = (s["tick_from_outside_ms"] for s in pair["servers"])
    assert owner["ticks"] >= 15 and relay == {}, (owner, relay)  # one room: 20 sends a second
    assert pair["lateness_ms"]["tick"] == owner and "tick_merged" in pair["lateness_ms"]
    # The owner publishes the room's frames once per send tick (20/s) for its relayed players.
    redis = pair["redis"]
    assert redis["room_leases"] == 1
    assert redis["commands_per_s"]["publish"] >= 15, redis
    assert redis["commands_per_room_s"] > redis["publish_per_room_s"] >= 15
    assert "redis" not in single
    assert fig["redis_at"]["players"] == 8


def test_quick_play_also_measures_two_processes_without_redis(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "--quick", "--figures", "6", "--tree", "work"]
    argv += ["--core", "pure"]  # quick play, the default: each process fills its own rooms
    done = subprocess.run(
        [*argv, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 6c the same cores' reference: 2 processes without Redis" in done.stdout
    fig = json.loads((tmp_path / "latest.json").read_text())["cluster"]
    by_layout = {r["target"]: r for r in fig["rows"]}
    assert set(by_layout) == {"single", "cluster", "separate"}, fig["broken"]
    separate = by_layout["separate"]
    assert separate["errors"] == {} and separate["seated"] == 8
    assert [s["clients"] for s in separate["servers"]] == [4, 4]
    # Each process seats its own four in a room of its own; nothing goes through Redis.
    assert separate["rooms"] == 2 and separate["rooms_across_ports"] == 0
    assert "redis" not in separate and "redis" in by_layout["cluster"]
    assert all(s["tick_from_outside_ms"]["ticks"] > 0 for s in separate["servers"])
    if separate["passed"] and by_layout["single"]["passed"]:
        assert fig["separate_ratio"] == 1.0


def test_the_reference_of_two_processes_runs_only_with_quick_play() -> None:
    assert cluster.layouts_for("quick") == ("single", "cluster", "separate")
    assert cluster.layouts_for("parties") == ("single", "cluster")


def test_rows_give_the_cluster_against_two_processes_without_redis() -> None:
    fig = {"budget": {"period_us": 10_000, "quota_us": 5_000, "cores": 0.5}, "note": "n",
           "best": {"single": 1000, "cluster": 1500, "separate": 1750}, "ratio": 1.5,
           "separate_ratio": 1.75, "redis_at": {}, "rows": []}  # fmt: skip
    first, reference = cluster.rows({"cluster": fig})
    assert first[1] == "1500 (ratio 1.50)" and first[4] == "no"
    assert reference[0].startswith("6c the same cores' reference")
    assert reference[1] == "1750 (ratio 1.75); 2 + Redis against them 0.86"
    assert reference[2] == "1 process: 1000"
    fig["separate_ratio"] = None  # parties: no reference
    assert len(cluster.rows({"cluster": fig})) == 1


def test_without_a_cpu_controller_the_budget_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpubudget, "CGROUP_CPU", tmp_path / "absent")
    problem = cpubudget.budget_problem()
    assert problem is not None and "no cgroup v1 cpu controller" in problem


def test_nice_weights_follow_the_kernel_table() -> None:
    assert cpubudget.nice_weight(0) == 1024
    assert abs(cpubudget.nice_weight(-10) - 9548) < 20  # the kernel's table says 9548
    assert cpubudget.nice_weight(19) < 20


def test_rows_say_when_there_was_no_budget() -> None:
    fig = {"budget": None, "note": "no cpu budget: test", "best": {"single": 8, "cluster": 16},
           "ratio": 2.0, "redis_at": {}, "rows": []}  # fmt: skip
    (row,) = cluster.rows({"cluster": fig})
    assert "no cpu budget" in row[0] and row[1] == "16 (ratio 2.00)" and row[4] == "-"
    fig["budget"] = {"period_us": 10_000, "quota_us": 5_000, "cores": 0.5}
    fig["ratio"] = 1.5
    assert cluster.rows({"cluster": fig})[0][4] == "no"


def test_parties_have_one_leader_each_and_leaders_take_turns_over_ports() -> None:
    loop = asyncio.new_event_loop()
    try:
        options = FleetOptions(ports=(1001, 1002), count=30, parties=True)
        fleet = Fleet(options, loop)
        bots = [fleet._new_bot(i, fleet.port_for(i)) for i in range(options.count)]
    finally:
        loop.close()
    parties: dict[int, list[int]] = {}
    for bot in bots:
        parties.setdefault(bot.party, []).append(bot.port)
    assert sorted(parties) == [0, 1, 2, 3]  # three of eight and a short party of six
    leaders = [b for b in bots if b.leads_party]
    assert [b.party for b in leaders] == [0, 1, 2, 3]
    assert [b.port for b in leaders] == [1001, 1002, 1001, 1002]
    assert all(sorted(ports) == [1001] * 4 + [1002] * 4 for p, ports in parties.items() if p < 3)
    assert [fleet.leader_of(p) for p in range(4)] == [0, 9, 18, 24 + 3 % 6]


def test_servers_get_a_core_each_only_where_one_is_spare_for_each() -> None:
    assert cluster.plan_cores(0, 1, 2, [0, 1]) == [0, 0]  # two cores: the servers share one
    assert cluster.plan_cores(0, 1, 2, [0, 1, 2, 3]) == [0, 2]
    assert cluster.plan_cores(0, 1, 1, [0, 1, 2, 3]) == [0]
    assert cluster.plan_cores(None, None, 2, [0]) == [None, None]  # not pinned at all
