"""The real image: built with buildah, run with podman, played over a websocket, stopped cleanly.

Needs buildah, podman, runc and debootstrap (./dev setup installs them). The first run makes the
stand-in base image with debootstrap (about a minute); later runs reuse the cache folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from tests.deploy.conftest import REPO

# The first run builds the base image with debootstrap: allow for it beyond the usual 120 s.
pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]

BUILD = REPO / "deploy" / "container" / "build.sh"
# One tag per run, so test runs in parallel (sharing the layer cache) never swap images.
IMAGE = f"localhost/pac-arena:test-{uuid.uuid4().hex[:8]}"
ALLOWED = "https://d111111abcdef8.cloudfront.net"


def container_env() -> dict[str, str]:
    """The environment build.sh uses, so podman here sees the same storage and settings."""
    out = subprocess.run(
        [str(BUILD), "env"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


def podman(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def image() -> Iterator[dict[str, str]]:
    env = container_env()
    started = time.monotonic()
    done = subprocess.run(
        [str(BUILD), "image"],
        env={**env, "IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"image built in {time.monotonic() - started:.1f} s")
    try:
        yield env
    finally:
        podman(env, "rmi", IMAGE)  # the tag only; the cached layers stay for the next run


@contextlib.contextmanager
def running(env: dict[str, str], port: int, **settings: str) -> Iterator[str]:
    """Run the image on 127.0.0.1:`port` with extra environment `settings`; yields its name."""
    name = f"pac-arena-test-{uuid.uuid4().hex[:8]}"
    flags = [f"--env={key}={value}" for key, value in settings.items()]
    # --read-only as on ECS (readonlyRootFilesystem).
    args = ["run", "-d", "--name", name, "--read-only", "-p", f"127.0.0.1:{port}:8080"]
    run = podman(env, *args, *flags, IMAGE)
    assert run.returncode == 0, run.stderr
    try:
        yield name
    finally:
        podman(env, "rm", "-f", "-t", "0", name)


@pytest.fixture
def container(image: dict[str, str]) -> Iterator[dict[str, Any]]:
    port = free_port()
    with running(image, port, ALLOWED_ORIGINS=ALLOWED, COUNTDOWN_S="0") as name:
        yield {"name": name, "port": port, "env": image}


def wait_healthy(env: dict[str, str], name: str, limit: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        state = podman(env, "inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        assert state == "running", podman(env, "logs", name).stdout
        if podman(env, "healthcheck", "run", name).returncode == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"{name} not healthy after {limit} s")


def frame_header(data: bytes) -> tuple[int, int, int]:
    """(kind, seq, frame) of a state frame, read as docs/protocol.md lays it out."""
    kind, _flags, seq, frame = struct.unpack_from("<BBHI", data, 0)
    return kind, seq, frame


async def next_json(ws: Any, wanted: str, limit: float = 5) -> dict[str, Any]:
    """The next text message of type `wanted`, skipping binary frames and other messages."""
    async with asyncio.timeout(limit):
        while True:
            raw = await ws.recv()
            if isinstance(raw, str):
                msg: dict[str, Any] = json.loads(raw)
                assert msg["type"] != "error", msg
                if msg["type"] == wanted:
                    return msg


def test_image_metadata(image: dict[str, str]) -> None:
    out = podman(image, "image", "inspect", IMAGE)
    assert out.returncode == 0, out.stderr
    (info,) = json.loads(out.stdout)
    config = info["Config"]
    assert config["User"] == "10001:10001"
    assert config["StopSignal"] == "SIGTERM"
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["python", "-m", "server"]
    assert info["Healthcheck"]["Test"] == ["CMD", "python", "/app/healthcheck.py"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["PORT"], env["HOST"]) == ("8080", "0.0.0.0")
    assert not any(k for k in env if "SECRET" in k or "PASSWORD" in k or "KEY" in k)
    # Nothing of the build stage: no wheels, no pip in the app's venv, no tests or git.
    listing = podman(
        image,
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        IMAGE,
        "-c",
        "ls /wheels /app/tests /app/.git /usr/bin/gcc 2>&1; ls /opt/venv/bin; ls /app",
    ).stdout
    # ... and no C compiler: the game core was compiled in the build stage.
    assert listing.count("No such file or directory") == 4, listing
    assert "pip" not in listing.split("/opt/venv/bin")[-1].split()
    assert "web" in listing and "healthcheck.py" in listing


async def play(port: int) -> tuple[list[int], Any]:
    """hello -> create -> start -> input; returns the frame numbers seen and the open socket."""
    ws = await connect(f"ws://127.0.0.1:{port}/ws", origin=Origin(ALLOWED))
    await ws.send(json.dumps({"type": "hello", "v": 1, "name": "Deployer"}))
    welcome = await next_json(ws, "welcome")
    assert welcome["v"] == 1 and welcome["name"] == "Deployer"
    await ws.send(json.dumps({"type": "create", "mode": "arena", "private": True}))
    joined = await next_json(ws, "joined")
    assert joined["you"] == 0 and len(joined["maze"]) == 36
    await ws.send(json.dumps({"type": "start"}))
    await ws.send(json.dumps({"type": "input", "dir": "left"}))
    await ws.send(bytes([0x10, 3]))  # binary intent: up
    frames: list[int] = []
    kinds = set()
    async with asyncio.timeout(10):
        while len(frames) < 20:
            raw = await ws.recv()
            if isinstance(raw, bytes):
                kind, _seq, frame = frame_header(raw)
                kinds.add(kind)
                frames.append(frame)
    assert 1 in kinds  # the keyframe on join
    return frames, ws


async def test_container_plays_drains_and_exits_zero(container: dict[str, Any]) -> None:
    env, name, port = container["env"], container["name"], container["port"]
    took = await asyncio.to_thread(wait_healthy, env, name)
    print(f"healthy after {took:.1f} s")

    # The configured origin (the CloudFront one on AWS) is admitted, a stranger is not.
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{port}/ws", origin=Origin("https://evil.example"))
    assert refused.value.response.status_code == 403

    frames, ws = await play(port)
    assert frames == sorted(frames) and frames[-1] > frames[0]
    assert len(set(frames)) == len(frames)  # every frame is a new simulation frame

    # ECS's stop: SIGTERM, then up to stopTimeout (30 s) before SIGKILL.
    started = time.monotonic()
    stop = asyncio.create_task(asyncio.to_thread(podman, env, "stop", "-t", "30", name))
    reconnect = await next_json(ws, "reconnect", limit=25)
    assert reconnect["reason"] == "draining"
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(25):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    stopped = await stop
    elapsed = time.monotonic() - started
    assert stopped.returncode == 0, stopped.stderr
    assert elapsed < 25, f"stop took {elapsed:.1f} s: the server did not drain by itself"
    state = podman(env, "inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", name)
    assert state.stdout.split() == ["0", "exited"]

    logs = podman(env, "logs", name)
    lines = [line for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(r, dict) and "msg" in r for r in records)
    assert sum("ts" in r and "level" in r for r in records) >= len(records) - 1  # bar the banner
    messages = [r["msg"] for r in records]
    assert "listening" in messages
    # The image runs the game core mypyc compiled in its build stage, not the pure sources.
    cores = [(r["msg"], r.get("game_core")) for r in records if r["msg"].startswith("game core")]
    assert cores == [("game core: compiled", "compiled")], cores
    assert messages.index("draining") < messages.index("stopped")
    print(f"stopped in {elapsed:.1f} s; {len(records)} JSON log lines")
