"""`python -m server` as a real process: prints its URL, drains on SIGTERM, exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

from tests.server.wsclient import Client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_serves_prints_url_and_drains_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DRAIN_TIMEOUT_S": "5"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert f"http://localhost:{port}/" in line.decode()
        c = await Client.open(port)
        await c.hello("Ada")
        await c.send({"type": "create", "mode": "arena"})
        token = (await c.expect("joined"))["token"]
        await c.send({"type": "chat", "channel": "room", "text": "marker-7Qz"})
        await c.expect("chat", lambda m: m["text"] == "marker-7Qz")
        await c.wait_for(lambda: c.frames)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert (await c.expect("reconnect"))["reason"] == "draining"
        await asyncio.wait_for(c.closed.wait(), 5)
        assert c.ws.close_code == 1001
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - started < 5
        logs = (await proc.stderr.read()).decode().splitlines()
        assert logs and all(line.startswith("{") for line in logs)  # one JSON object per line
        assert any('"room"' in line for line in logs)
        # Info logs carry ids, never what people wrote or their resume tokens.
        assert not any("marker-7Qz" in line or token in line for line in logs)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_bad_configuration_exits_with_a_message() -> None:
    env = {**os.environ, "PORT": "not-a-port"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 2
    assert b"PORT" in err
