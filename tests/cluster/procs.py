"""Real server processes (`python -m server`) on free loopback ports, sharing one Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """One server process; `kill()` is a kill -9, `term()` a SIGTERM."""

    def __init__(self, name: str, redis_url: str, folder: Path, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = folder / f"{name}.log"
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "REDIS_URL": redis_url,
            "INSTANCE_ID": name,
            "COUNTDOWN_S": "0",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            if self.healthy():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not come up:\n{self.log()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def get_json(self, path: str) -> object:
        import json

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
            return json.loads(r.read())

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def stop_process(self) -> None:
        """SIGSTOP: frozen, as if the machine hung (nothing it holds is released)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def term(self, timeout: float = 30.0) -> int:
        """SIGTERM; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)


@contextmanager
def cluster(
    redis_url: str, folder: Path, count: int = 3, **env: str
) -> Iterator[list[ServerProcess]]:
    """`count` server processes sharing `redis_url`; all killed at the end."""
    procs = [ServerProcess(f"p{i}", redis_url, folder, **env) for i in range(count)]
    try:
        for proc in procs:
            proc.start()
        yield procs
    finally:
        for proc in procs:
            proc.cleanup()
