"""bench/core.py runs and reports a real rate from real play (a short run, not the benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import core


def test_measure_reports_frames_per_second_of_real_play() -> None:
    result = core.measure(frames=600, players=8, repeats=1)
    assert result["frames_per_s"] > 1000
    assert result["events_per_run"] > 20  # pellets were eaten: the players really moved
    assert result["players"] == 8 and result["target_frames_per_s"] == 20_000


def test_main_writes_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "core.json"
    assert core.main(["--frames", "300", "--repeats", "1", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["frames"] == 300
    assert "frames/s" in capsys.readouterr().out
