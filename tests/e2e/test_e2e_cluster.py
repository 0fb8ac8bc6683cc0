"""The browser client against `./dev cluster`: kill -9 the room's owner, play goes on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from server.bus import keys
from tests.cluster.local import LocalCluster
from tests.e2e.conftest import NewPage, wait_js

pytestmark = pytest.mark.browser


@pytest.fixture
def local_cluster(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    """`./dev cluster` on free ports: (its URL, first server port, Redis port)."""
    cluster = LocalCluster.start(tmp_path)
    try:
        line = cluster.first_line()
        assert "running at" in line, line
        yield cluster.url, cluster.base_port, cluster.redis_port
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            cluster.ctrl_c()
        cluster.kill()


def _listener_pid(port: int) -> int:
    """The process listening on 127.0.0.1:`port` (from /proc: no extra tools needed)."""
    inode = None
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":  # LISTEN
            inode = fields[9]
    assert inode is not None, f"nobody listens on {port}"
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                return int(fd.parts[2])
        except OSError:
            continue
    raise AssertionError(f"no process holds the socket of port {port}")


def test_kill_9_the_owner_and_both_players_play_on(
    new_page: NewPage, local_cluster: tuple[str, int, int]
) -> None:
    url, base, redis_port = local_cluster
    ada = new_page(name="Ada", base=url)
    bob = new_page(name="Bob", base=url)
    wait_js(ada, "window.pacArena && window.pacArena.connected")
    wait_js(bob, "window.pacArena && window.pacArena.connected")
    ada.select_option("#create-mode", "arena")
    ada.uncheck("#create-private")
    ada.click("#create")
    wait_js(ada, "window.pacArena.room !== null")
    code = ada.evaluate("window.pacArena.room")
    bob.locator("#room-list li", has_text=code).get_by_role("button", name="Join").click()
    wait_js(bob, f"window.pacArena.room === {code!r} && window.pacArena.you !== null")
    seats = {p: p.evaluate("window.pacArena.you") for p in (ada, bob)}
    for page in (ada, bob):
        wait_js(page, "window.pacArena.state.roomState === 'playing'", 15)
    # Find the owner from its lease and kill it without warning.
    lease = redis.Redis(port=redis_port).get(keys.room_owner(code))
    assert lease is not None
    owner = lease.decode().partition(":")[2]  # "<epoch>:local-<i>"
    pid = _listener_pid(base + int(owner.rsplit("-", 1)[1]))
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    # Whoever was on the dead process reconnects through nginx; both keep their seats and
    # see the game move again.
    for page in (ada, bob):
        wait_js(page, f"window.pacArena.connected && window.pacArena.room === {code!r}", 15)
        assert page.evaluate("window.pacArena.you") == seats[page]
        # No frame yet right after the reconnect's "joined" (the page starts the room afresh).
        before = page.evaluate("window.pacArena.state.frame ?? -1")
        wait_js(page, f"window.pacArena.state.frame > {before}", 10)
    print(
        f"\nbrowser failover: both pages playing again {time.monotonic() - killed:.2f} s after kill"
    )
    assert ada.errors == [] and bob.errors == []  # type: ignore[attr-defined]
