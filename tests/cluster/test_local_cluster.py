"""`./dev cluster`: Redis, three servers and nginx on loopback; Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from tests.cluster.local import LocalCluster
from tests.server.wsclient import Client


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_local_cluster_serves_through_nginx_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cluster = LocalCluster.start(tmp_path)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(cluster.first_line), 30)
        assert cluster.url in line, line
        # Two players through the balancer land on different servers and share a room.
        ada = await Client.open(cluster.lb_port)
        bob = await Client.open(cluster.lb_port)
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
        ports = cluster.ports
        assert all(port_open(p) for p in ports)
        assert await asyncio.to_thread(cluster.ctrl_c) == 0
        deadline = time.monotonic() + 5
        while any(port_open(p) for p in ports) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(port_open(p) for p in ports)
    finally:
        cluster.kill()
