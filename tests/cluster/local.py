"""`./dev cluster` as a test starts it: on free ports, stopped the way Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _ctrl_c_reaches_the_script() -> None:
    # A runner started in the background (as CI may be) ignores SIGINT, children inherit that,
    # and bash cannot trap a signal ignored at entry: give the script a terminal's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class LocalCluster:
    proc: subprocess.Popen[str]
    lb_port: int
    base_port: int  # servers listen on base_port .. base_port + 2
    redis_port: int
    folder: Path  # the script's TMPDIR: its logs land in pac-cluster.*/ below it

    @property
    def url(self) -> str:
        return f"http://localhost:{self.lb_port}/"

    @property
    def ports(self) -> list[int]:
        return [self.lb_port, self.redis_port, *(self.base_port + i for i in range(3))]

    @classmethod
    def start(cls, folder: Path) -> LocalCluster:
        lb, base, redis_port = free_port(), free_port(), free_port()
        while not all(bindable(base + i) for i in range(3)) or {lb, redis_port} & {
            base + 1,
            base + 2,
        }:
            base = free_port()
        env = {
            **os.environ,
            "CLUSTER_PORT": str(lb),
            "CLUSTER_BASE_PORT": str(base),
            "CLUSTER_REDIS_PORT": str(redis_port),
            "PYTHON": sys.executable,
            "TMPDIR": str(folder),
        }
        proc = subprocess.Popen(
            [str(ROOT / "dev"), "cluster"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_ctrl_c_reaches_the_script,
        )
        return cls(proc, lb, base, redis_port, folder)

    def first_line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def ctrl_c(self, timeout: float = 30) -> int:
        """Send what Ctrl-C sends and wait for the exit status (on a timeout, fail with the
        tail of every log, which says who was still stopping)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still stopping after {timeout} s:\n{self.logs()}") from None

    def logs(self, lines: int = 15) -> str:
        out = []
        for log in sorted(self.folder.glob("pac-cluster.*/*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"== {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def kill(self) -> None:
        """Stop it whatever state it is in: SIGTERM first (the script's trap stops its
        children, which run in sessions of their own), SIGKILL if that does not do."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
