"""The mypyc-compiled core plays exactly like the pure one: same pinned digests, same events.

One compiled copy of the work tree's `server/` is built per module (about 20 s, with gcc and
the Python headers); the source tree itself is never compiled. Each check runs in a child
process started from a folder, so the folder decides which build Python imports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.compile_core import compile_core, module_files, not_compiled
from tests.game.test_pinned_replay import ARENA_DIGEST, CLASSIC_DIGEST, VIEWS_DIGEST, _log

REPO = Path(__file__).resolve().parents[2]
# The build is about 20 s on an idle core; a busy shared machine can take a few times that.
pytestmark = pytest.mark.timeout(300)

# The pinned games of test_pinned_replay.py, run by whichever build the child imports. The
# events are listed in full (not only digested), so a divergence names the first one.
PLAY = """
import hashlib, json, sys
sys.path.insert(0, ".")
import server.game.arena
from server.game import Arena, Direction, Mode, replay

# Tuples, as typed: compiled code checks declared types at run time (a list is refused).
logs = {name: [tuple(entry) for entry in log] for name, log in json.loads(sys.stdin.read()).items()}
out = {"arena_file": server.game.arena.__file__}
frames = 24_000
arena = replay(
    seed=77, mode=Mode.ARENA, inputs=logs["arena"], frames=frames,
    joins=[(0, pid) for pid in range(6)] + [(900, 6), (1800, 7)], leaves=[(15_000, 3)], lives=40,
)
out["arena"] = {"digest": arena.digest, "events": arena.events, "state": arena.state}
classic = replay(seed=3, mode=Mode.CLASSIC, inputs=logs["classic"], frames=12_000, lives=6)
out["classic"] = {"digest": classic.digest, "events": classic.events, "state": classic.state}
game = Arena(mode=Mode.ARENA, seed=21, lives=40)
for pid in range(8):
    game.add_player(pid)
by_frame = {}
for f, pid, d in logs["views"]:
    by_frame.setdefault(f, []).append((pid, d))
views = hashlib.sha256()
events = []
for f in range(9000):
    for pid, d in by_frame.get(f, ()):
        game.set_direction(pid, Direction(d))
    game.step()
    events += [[e.kind, e.frame, e.player, e.other, e.value, e.points] for e in game.drain_events()]
    views.update(repr(game.view()).encode())
out["views"] = {"digest": views.hexdigest(), "events": events}
print(json.dumps(out))
"""


def _copy_server(dest: Path) -> Path:
    """The work tree's server/ (and the web/ it serves) without caches or stray builds, as a
    new root."""
    for folder in ("server", "web"):
        shutil.copytree(
            REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
    return dest


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.monotonic()
    root = _copy_server(tmp_path_factory.mktemp("compiled"))
    compile_core(root)
    print(f"core compiled in {time.monotonic() - started:.1f} s")
    return root


def _play(root: Path) -> dict[str, Any]:
    logs = {"arena": _log(5, 24_000, 8), "classic": _log(11, 12_000, 1), "views": _log(8, 9000, 8)}
    done = subprocess.run(
        [sys.executable, "-I", "-c", PLAY],
        cwd=root,
        input=json.dumps(logs),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_every_core_module_of_the_copy_imports_compiled(compiled: Path) -> None:
    files = module_files(compiled)
    assert len(files) >= 10
    assert not_compiled(files) == []
    for path in files.values():
        assert Path(path).is_relative_to(compiled) and Path(path).suffix == ".so", path
    # The source tree is still the pure build: nothing was compiled in place.
    assert not_compiled(module_files(REPO)) == sorted(module_files(REPO))


def test_compiled_core_replays_the_pinned_games_exactly_like_the_pure_one(compiled: Path) -> None:
    fast = _play(compiled)
    pure = _play(REPO)
    assert fast["arena_file"].endswith(".so") and pure["arena_file"].endswith(".py")
    assert fast["arena"]["digest"] == ARENA_DIGEST
    assert fast["classic"]["digest"] == CLASSIC_DIGEST
    assert fast["views"]["digest"] == VIEWS_DIGEST
    assert len(fast["views"]["events"]) > 100
    for game in ("arena", "classic", "views"):
        assert fast[game] == pure[game], game


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def compiled_server(compiled: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`python -m server` run from the compiled copy; yields its metrics port and log."""
    port, metrics_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "METRICS_PORT": str(metrics_port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "SERVE_STATIC": "0",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=compiled, env=env, stdout=out, stderr=out
        )
    try:
        yield metrics_port, log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_server_run_from_the_copy_reports_the_compiled_core(
    compiled_server: tuple[int, Path],
) -> None:
    metrics_port, log = compiled_server
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
                text = r.read().decode()
            break
        except OSError:
            time.sleep(0.1)
    assert 'pacarena_game_core{kind="compiled"} 1.0' in text.splitlines(), log.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    core = [line for line in lines if line.get("msg", "").startswith("game core")]
    assert [(c["msg"], c["game_core"]) for c in core] == [("game core: compiled", "compiled")]


def test_bench_core_names_the_core_it_timed(compiled: Path) -> None:
    from bench import core

    assert core.core_kind() == "pure"  # this process imports the work tree's sources
    result = core.measure_in(compiled, ["--frames", "300", "--repeats", "1"])
    assert result["core"] == "compiled" and result["frames"] == 300
    assert result["events_per_run"] > 20 and result["frames_per_s"] > 1000


# The server's own suite, run again with the compiled build imported, less the tests that
# cannot run there: two check that the source tree itself is pure, one replaces a method of
# the compiled Arena (attributes of compiled classes are read-only).
NOT_ON_COMPILED = (
    "tests/server/test_gamecore.py::test_the_source_tree_runs_the_pure_core",
    "tests/server/test_gamecore.py::test_metrics_name_the_core_kind",
    "tests/server/test_room.py::test_a_failing_room_tells_its_players_and_closes",
)
RUN_SUITE = """
import sys
import server.game.arena, server.room, server.session
for module in (server.game.arena, server.room, server.session):
    assert module.__file__.endswith(".so"), module.__file__
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_the_server_suite_passes_on_the_compiled_build(compiled: Path) -> None:
    # Compiled code checks declared types at run time, so a value that only mypy's eye let
    # through fails here, not in production. --import-mode=append keeps the copy first on
    # sys.path (the tests themselves still come from the work tree).
    argv = [sys.executable, "-c", RUN_SUITE, "-q", "-p", "no:cacheprovider", "-x"]
    argv += ["--import-mode=append", str(REPO / "tests" / "server")]
    argv += [f"--deselect={test}" for test in NOT_ON_COMPILED]
    done = subprocess.run(argv, cwd=compiled, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
