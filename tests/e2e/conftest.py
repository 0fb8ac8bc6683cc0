"""Fixtures for browser tests: the real server as a subprocess and real headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    WebSocket,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

NewPage = Callable[..., Page]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}healthz", timeout=1) as res:
                if res.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not healthy after {timeout} s")


def launch_server(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start `python -m server` on `port` (loopback, short countdown) and wait for /healthz."""
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COUNTDOWN_S": "0.5",
        "LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/", proc)
    except RuntimeError:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="package")
def server_url() -> Iterator[str]:
    """The real server for the whole browser session, on a free loopback port.

    Its log is kept in test-artifacts/ (git-ignored) for looking into a failed run.
    """
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e-server.log"
    log_path.unlink(missing_ok=True)
    proc = launch_server(port, log_path)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_server(proc)
        if proc.returncode not in (0, -15):
            print(log_path.read_text(errors="replace")[-4000:])


# Package scope, not session: sync Playwright keeps an event loop running until it stops, and
# the asyncio tests in other packages need none to be running.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


def describe(page: Page) -> str:
    """What a page was doing: its last websocket frames, page errors and visible messages."""
    wire = getattr(page, "wire", [])
    lines = [f"  {kind} {data[:160]!r}" for kind, _, data in wire[-15:]]
    try:
        shown = page.evaluate(
            "[typeof window.pacArena, document.querySelector('#status')?.textContent,"
            " document.querySelector('#banner')?.textContent,"
            " document.querySelector('#lobby-message')?.textContent]"
        )
    except Exception as exc:  # the page may be gone; say so rather than hide the real failure
        shown = f"(page not readable: {exc})"
    errors = getattr(page, "errors", [])
    return f"hook/status/banner/lobby: {shown}\npage errors: {errors}\nlast frames:\n" + "\n".join(
        lines
    )


def wait_js(page: Page, predicate: str, timeout_s: float = 10.0) -> None:
    """Wait until the JS expression is true in the page; on timeout, say what the page saw."""
    try:
        page.wait_for_function(
            f"() => {{ try {{ return {predicate}; }} catch (e) {{ return false; }} }}",
            timeout=timeout_s * 1000,
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"not true after {timeout_s} s: {predicate}\n{describe(page)}"
        ) from None


@pytest.fixture(scope="module")
def new_page(browser: Browser, server_url: str) -> Iterator[NewPage]:
    """Open a page in its own browser context (own storage), as a separate person would."""
    contexts: list[BrowserContext] = []

    def open_page(
        path: str = "",
        name: str | None = None,
        route: tuple[str, Any] | None = None,
        phone: bool = False,
        base: str | None = None,
    ) -> Page:
        if phone:  # a touch phone with a HiDPI screen
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                device_scale_factor=2,
            )
        else:
            context = browser.new_context(viewport={"width": 1100, "height": 820})
        contexts.append(context)
        if route is not None:
            context.route(*route)
        if name is not None:
            context.add_init_script(f"localStorage.setItem('pacArena.name', {name!r});")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        # Every websocket frame the page sends or receives, with the time it was seen.
        wire: list[tuple[str, float, str | bytes]] = []
        page.wire = wire  # type: ignore[attr-defined]

        def watch(ws: WebSocket) -> None:
            ws.on("framesent", lambda data: wire.append(("sent", time.monotonic(), data)))
            ws.on("framereceived", lambda data: wire.append(("recv", time.monotonic(), data)))

        page.on("websocket", watch)
        page.goto((base or server_url) + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
