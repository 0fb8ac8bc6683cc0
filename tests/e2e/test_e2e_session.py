"""Sessions in the browser: quick play, names, version mismatch, and reconnecting by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Route

from tests.e2e.conftest import NewPage, free_port, launch_server, stop_server, wait_js

pytestmark = pytest.mark.browser


def test_server_restart_shows_banner_then_reconnects(new_page: NewPage, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    proc = launch_server(port, log)
    try:
        page = new_page(base=f"http://127.0.0.1:{port}/")
        wait_js(page, "window.pacArena && window.pacArena.connected")
        page.click("#create")
        wait_js(page, "window.pacArena.room !== null")
        code = page.evaluate("window.pacArena.room")

        stop_server(proc)
        wait_js(page, "!window.pacArena.connected")
        banner = page.locator("#banner")
        banner.wait_for(state="visible")
        assert "Reconnecting" in banner.inner_text()
        assert page.locator("#status").get_attribute("data-state") in ("waiting", "connecting")

        proc = launch_server(port, log)
        wait_js(page, "window.pacArena.connected", 15)
        assert banner.is_hidden()
        # A restarted in-memory server has no memory of the room: the client tries the room
        # again, hears it is gone, and lands in the lobby with a message instead of a dead game.
        page.locator("#lobby").wait_for(state="visible")
        page.locator("#lobby-message").wait_for(state="visible")
        assert page.evaluate("window.pacArena.room") is None
        assert code not in page.url
    finally:
        stop_server(proc)


def test_quick_play_opens_a_public_room_listed_in_other_lobbies(new_page: NewPage) -> None:
    watcher = new_page("", name="Watcher")
    player = new_page("", name="Quick")
    wait_js(player, "window.pacArena && window.pacArena.connected")
    player.click("#quick-play")
    wait_js(player, "window.pacArena.room !== null && window.pacArena.you === 0")
    code = player.evaluate("window.pacArena.room")
    # The lobby's live room list shows it, and its Watch button makes a spectator.
    row = watcher.locator("#room-list li", has_text=code)
    row.wait_for()
    row.get_by_role("button", name="Watch").click()
    wait_js(watcher, f"window.pacArena.room === {code!r}")
    assert watcher.evaluate("window.pacArena.you") is None
    # Sound is off until the player turns it on (a click, so WebAudio may start).
    sound = player.locator("#sound")
    assert sound.inner_text() == "Sound: off" and sound.get_attribute("aria-pressed") == "false"
    sound.click()
    assert sound.inner_text() == "Sound: on" and sound.get_attribute("aria-pressed") == "true"
    player.wait_for_timeout(300)  # some frames (and maybe chomps) with sound on
    assert player.errors == [] and watcher.errors == []  # type: ignore[attr-defined]


def test_invalid_name_is_explained_and_a_fixed_name_gets_in(new_page: NewPage) -> None:
    page = new_page("", name="<b>bold</b>")
    message = page.locator("#lobby-message")
    message.wait_for(state="visible")
    assert "not allowed" in message.inner_text()
    assert not page.evaluate("window.pacArena.connected")
    page.fill("#name", "Fixed Name")
    page.click("#create")
    wait_js(page, "window.pacArena.room !== null")
    assert page.evaluate("window.pacArena.name") == "Fixed Name"
    assert page.evaluate("localStorage.getItem('pacArena.name')") == "Fixed Name"


def test_protocol_version_mismatch_shows_why_and_stops_retrying(new_page: NewPage) -> None:
    def old_client(route: Route) -> None:
        body = route.fetch().text().replace("PROTOCOL_VERSION = 1;", "PROTOCOL_VERSION = 99;")
        assert "PROTOCOL_VERSION = 99;" in body
        route.fulfill(body=body, content_type="text/javascript")

    page = new_page("", name="Oldie", route=("**/net.js", old_client))
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "reload" in banner.inner_text()
    wait_js(page, "document.querySelector('#status').dataset.state === 'fatal'")
    page.wait_for_timeout(1500)  # no reconnect loop: still exactly one hello sent
    hellos = [d for kind, _, d in page.wire if kind == "sent" and '"hello"' in str(d)]  # type: ignore[attr-defined]
    assert len(hellos) == 1


def test_dead_link_is_noticed_and_the_seat_resumes_without_a_reload(new_page: NewPage) -> None:
    page = new_page("", name="Roamer")
    wait_js(page, "window.pacArena && window.pacArena.connected")
    page.click("#create")
    wait_js(page, "window.pacArena.room !== null && window.pacArena.you !== null")
    code, seat = page.evaluate("[window.pacArena.room, window.pacArena.you]")

    # Offline emulation stalls the open socket without closing it, like a phone changing
    # networks: only the silence watchdog can notice.
    page.context.set_offline(True)
    banner = page.locator("#banner")
    banner.wait_for(state="visible", timeout=10_000)
    assert "Reconnecting" in banner.inner_text()
    page.context.set_offline(False)

    wait_js(page, "window.pacArena.connected", 15)
    wait_js(page, f"window.pacArena.room === {code!r}")
    assert page.evaluate("window.pacArena.you") == seat
    assert banner.is_hidden()
    hellos = [str(d) for kind, _, d in page.wire if kind == "sent" and '"hello"' in str(d)]  # type: ignore[attr-defined]
    assert len(hellos) >= 2 and '"token"' in hellos[-1]
    wait_js(page, "window.pacArena.state.synced")
    assert len(page.evaluate("window.pacArena.state.players")) == 1  # the same seat, not a new one


def test_config_json_can_name_the_websocket_url(new_page: NewPage, server_url: str) -> None:
    # A deployment serving web/ from a CDN writes the game server's URL into config.json.
    ws_url = server_url.replace("http://", "ws://") + "ws?from=config"

    def config(route: Route) -> None:
        route.fulfill(json={"wsUrl": ws_url})

    page = new_page("", name="Cdn", route=("**/config.json", config))
    wait_js(page, "window.pacArena && window.pacArena.connected")
    opened = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(name.endswith("/config.json") for name in opened)
    assert page.evaluate("window.pacArena.wsUrl") == ws_url
