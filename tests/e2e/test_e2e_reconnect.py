"""The client notices a lost server, shows the banner, and reconnects by itself with backoff."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import free_port, launch_server, stop_server

pytestmark = pytest.mark.browser


def test_server_restart_shows_banner_then_reconnects(browser: Browser, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    proc = launch_server(port, log)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("() => window.pacArena && window.pacArena.connected")
        page.click("#create")
        page.wait_for_function("() => window.pacArena.room !== null")
        code = page.evaluate("window.pacArena.room")

        stop_server(proc)
        page.wait_for_function("() => !window.pacArena.connected")
        banner = page.locator("#banner")
        banner.wait_for(state="visible")
        assert "Reconnecting" in banner.inner_text()
        assert page.locator("#status").get_attribute("data-state") in ("waiting", "connecting")

        proc = launch_server(port, log)
        page.wait_for_function("() => window.pacArena.connected", timeout=15_000)
        assert banner.is_hidden()
        # A restarted in-memory server has no memory of the room: the client tries the room
        # again, hears it is gone, and lands in the lobby with a message instead of a dead game.
        page.locator("#lobby").wait_for(state="visible")
        page.locator("#lobby-message").wait_for(state="visible")
        assert page.evaluate("window.pacArena.room") is None
        assert code not in page.url
    finally:
        context.close()
        stop_server(proc)
