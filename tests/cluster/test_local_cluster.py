"""`./dev cluster`: Redis, three servers and nginx on loopback; Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.cluster.procs import ROOT
from tests.server.wsclient import Client
from tests.support.redis_server import free_port


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_local_cluster_serves_through_nginx_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    lb, base, redis = free_port(), free_port(), free_port()
    while not all(bindable(base + i) for i in range(3)) or {lb, redis} & {base + 1, base + 2}:
        base = free_port()
    env = {
        **os.environ,
        "CLUSTER_PORT": str(lb),
        "CLUSTER_BASE_PORT": str(base),
        "CLUSTER_REDIS_PORT": str(redis),
        "PYTHON": sys.executable,
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [str(ROOT / "dev"), "cluster"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert f"http://localhost:{lb}/" in line, line
        # Two players through the balancer land on different servers and share a room.
        ada = await Client.open(lb)
        bob = await Client.open(lb)
        await ada.hello("Ada")
        await ada.send({"type": "create", "mode": "arena"})
        code = (await ada.expect("joined"))["room"]
        await bob.hello("Bob")
        await bob.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
        await bob.send({"type": "join", "room": code})
        assert (await bob.expect("joined"))["room"] == code
        await ada.send({"type": "chat", "channel": "room", "text": "via nginx"})
        await bob.expect("chat", lambda m: m["text"] == "via nginx")
        await ada.close()
        await bob.close()
        ports = [lb, redis, base, base + 1, base + 2]
        assert all(port_open(p) for p in ports)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert await asyncio.to_thread(proc.wait, 30) == 0
        deadline = time.monotonic() + 5
        while any(port_open(p) for p in ports) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(port_open(p) for p in ports)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
