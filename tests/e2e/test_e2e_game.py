"""Two real Chromium pages play in one room on the real server: moves, chat, reload, looks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import NewPage, wait_js

pytestmark = pytest.mark.browser

RIGHT, LEFT = 0, 2
PLAYING = 1


@dataclass
class Duo:
    a: Page
    b: Page
    code: str
    a_id: int
    b_id: int


def me_in(page: Page, player: int) -> dict[str, Any] | None:
    """The player's record in the page's latest state frame, through the debug hook."""
    players = page.evaluate("window.pacArena.state.players")
    for p in players:
        if p["id"] == player:
            found: dict[str, Any] = p
            return found
    return None


@pytest.fixture(scope="module")
def duo(new_page: NewPage) -> Duo:
    a = new_page(name="Alice")
    wait_js(a, "window.pacArena.connected")
    a.select_option("#create-mode", "arena")
    a.click("#create")
    wait_js(a, "window.pacArena.room !== null && window.pacArena.you !== null")
    code = a.evaluate("window.pacArena.room")
    assert a.url.endswith(f"/?room={code}")

    b = new_page(f"?room={code}", name="Bob")
    wait_js(b, f"window.pacArena.room === {code!r} && window.pacArena.you !== null")
    a_id, b_id = a.evaluate("window.pacArena.you"), b.evaluate("window.pacArena.you")
    assert a_id != b_id
    wait_js(a, "window.pacArena.state.players.length === 2")

    if a.evaluate("window.pacArena.state.roomState") == "waiting":
        a.click("#start")
    for page in (a, b):
        wait_js(page, f"window.pacArena.state.phase === {PLAYING}", 15)
    return Duo(a, b, code, a_id, b_id)


def test_both_pages_see_both_players_with_names(duo: Duo) -> None:
    for page in (duo.a, duo.b):
        names = {p["id"]: p["name"] for p in page.evaluate("window.pacArena.state.players")}
        assert names == {duo.a_id: "Alice", duo.b_id: "Bob"}
        assert page.errors == []  # type: ignore[attr-defined]


def moved(duo: Duo, direction: int, sign: int, timeout_s: float = 4.0) -> tuple[int, int]:
    """Wait until both pages show Alice heading `direction` and her x moved by `sign`."""
    start_a = me_in(duo.a, duo.a_id)
    assert start_a is not None
    x0 = start_a["x"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = [me_in(page, duo.a_id) for page in (duo.a, duo.b)]
        if all(p is not None and p["dir"] == direction and (p["x"] - x0) * sign >= 6 for p in seen):
            return seen[0]["x"], seen[1]["x"]  # type: ignore[index]
        time.sleep(0.05)
    raise AssertionError(f"Alice did not move {direction}: start {start_a}, now {seen}")


def frame_and_x(page: Page, player: int) -> tuple[int, int]:
    """The page's latest frame number and the player's x in it, read at once."""
    state = page.evaluate("window.pacArena.state")
    return state["frame"], next(p["x"] for p in state["players"] if p["id"] == player)


def intents(page: Page) -> list[bytes]:
    """The binary direction intents the page has sent so far."""
    return [d for kind, _, d in page.wire if kind == "sent" and isinstance(d, bytes)]  # type: ignore[attr-defined]


def test_keys_in_one_page_move_its_pac_man_in_both(duo: Duo) -> None:
    wait_js(duo.a, alice_alive(duo))
    duo.a.focus("#screen")
    sent_before = len(intents(duo.a))
    for _ in range(4):  # held or repeated: the direction is sent once, when it changes
        duo.a.keyboard.press("ArrowRight")
    assert intents(duo.a)[sent_before:] == [bytes([0x10, RIGHT])]
    moved(duo, RIGHT, +1)
    # Both pages show her where the server had her at the frame each drew last (a busy
    # machine may hold one page's frames back a while; it may not put her elsewhere).
    (fa, xa), (fb, xb) = (frame_and_x(page, duo.a_id) for page in (duo.a, duo.b))
    assert abs(fa - fb) <= 60 and abs(xa - xb) <= 4 + 2 * abs(fa - fb)
    duo.a.keyboard.press("KeyA")  # WASD works too
    moved(duo, LEFT, -1)
    assert intents(duo.a)[sent_before:] == [bytes([0x10, RIGHT]), bytes([0x10, LEFT])]
    bob = me_in(duo.b, duo.b_id)
    assert bob is not None


def test_chat_line_reaches_the_other_page_as_plain_text(duo: Duo) -> None:
    duo.a.fill("#chat-input", "hello from alice")
    duo.a.press("#chat-input", "Enter")
    wait_js(duo.b, "document.querySelector('#chat-log').textContent.includes('hello from alice')")
    markup = '<img src=x onerror="window.__pwned=1">'
    duo.a.fill("#chat-input", markup)
    duo.a.press("#chat-input", "Enter")
    wait_js(duo.b, "document.querySelector('#chat-log').textContent.includes('<img src=x')")
    for page in (duo.a, duo.b):
        assert page.locator("#chat-log img").count() == 0
        assert page.evaluate("window.__pwned") is None
        texts = page.locator("#chat-log .text").all_text_contents()
        assert markup in texts
    # Typing in the chat box must not steer the Pac-Man.
    assert duo.a.evaluate("document.activeElement.id") == "chat-input"


def test_screenshot_shows_the_game(duo: Duo, artifacts: Path) -> None:
    duo.a.locator("#chat-input").blur()
    time.sleep(0.3)
    path = artifacts / "game.png"
    duo.a.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    counts = duo.a.evaluate(
        """() => {
          const c = document.querySelector('#screen');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let lit = 0, blue = 0, yellow = 0;
          for (let i = 0; i < d.length; i += 16) {
            const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
            if (r + g + b > 60) lit++;
            if (b > 150 && r < 90 && g < 90) blue++;
            if (r > 200 && g > 200 && b < 80) yellow++;
          }
          return { lit, blue, yellow, total: d.length / 16 };
        }"""
    )
    assert counts["lit"] > counts["total"] * 0.03, counts  # not a blank canvas
    assert counts["blue"] > counts["total"] * 0.01, counts  # maze walls
    assert counts["yellow"] > 10, counts  # Alice (seat colour yellow) or text


def alice_alive(duo: Duo) -> str:
    """A JS predicate: Alice is alive (not caught, respawning or out) in the page."""
    return f"window.pacArena.state.players.find(p => p.id === {duo.a_id}).state === 0"


def test_reload_resumes_the_same_seat(duo: Duo) -> None:
    wait_js(duo.a, alice_alive(duo))
    if me_in(duo.a, duo.a_id)["score"] == 0:  # type: ignore[index]
        duo.a.keyboard.press("ArrowRight")  # run alone: eat a dot first, so "kept" means something
        wait_js(duo.a, f"window.pacArena.state.players.find(p => p.id === {duo.a_id}).score > 0")
    before = me_in(duo.a, duo.a_id)
    assert before is not None and before["score"] > 0
    roster_size = len(duo.b.evaluate("window.pacArena.state.players"))
    duo.a.reload()
    wait_js(duo.a, f"window.pacArena.room === {duo.code!r} && window.pacArena.state.synced")
    assert duo.a.evaluate("window.pacArena.you") == duo.a_id
    after = me_in(duo.a, duo.a_id)
    assert after is not None
    assert after["name"] == "Alice"
    assert after["score"] >= before["score"]
    assert len(duo.b.evaluate("window.pacArena.state.players")) == roster_size
    # Still playable after the resume: a key press turns Alice in Bob's page. (Reversing is
    # always possible; if a ghost caught her meanwhile, wait for her to come back first.)
    wait_js(duo.a, alice_alive(duo), 15)
    current = me_in(duo.a, duo.a_id)["dir"]  # type: ignore[index]
    duo.a.keyboard.press("ArrowRight" if current != RIGHT else "ArrowLeft")
    wanted = RIGHT if current != RIGHT else LEFT
    wait_js(duo.b, f"window.pacArena.state.players.find(p => p.id === {duo.a_id}).dir === {wanted}")


def test_spectator_watches_but_cannot_take_a_seat(duo: Duo, new_page: NewPage) -> None:
    s = new_page("", name="Carol")
    wait_js(s, "window.pacArena.connected")
    s.fill("#join-code", duo.code.lower())
    s.check("#join-watch")
    s.click("#join")
    wait_js(s, f"window.pacArena.room === {duo.code!r} && window.pacArena.state.framesSeen > 5")
    assert s.evaluate("window.pacArena.you") is None
    assert s.url.endswith(f"/?room={duo.code}&watch=1")
    ids = {p["id"] for p in s.evaluate("window.pacArena.state.players")}
    assert ids == {duo.a_id, duo.b_id}
    wait_js(duo.a, "document.querySelector('#spectators').textContent === '1 watching'")
    assert s.locator("#start").is_hidden()
    s.click("#leave")
    wait_js(s, "window.pacArena.room === null")
    assert s.locator("#lobby").is_visible()
    assert s.url.endswith("/")
    for page in (duo.a, duo.b, s):
        assert page.errors == []  # type: ignore[attr-defined]


SWIPE = """([dx, dy]) => {
  const stage = document.querySelector('#stage');
  const r = stage.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const touch = (cx, cy) => new Touch({ identifier: 1, target: stage, clientX: cx, clientY: cy });
  const fire = (type, t) => stage.dispatchEvent(new TouchEvent(type, {
    bubbles: true, cancelable: true, touches: type === 'touchend' ? [] : [t], changedTouches: [t],
  }));
  fire('touchstart', touch(x, y));
  fire('touchmove', touch(x + dx / 2, y + dy / 2));
  fire('touchmove', touch(x + dx, y + dy));
  fire('touchend', touch(x + dx, y + dy));
}"""


def test_phone_player_steers_with_the_pad_and_swipes(duo: Duo, new_page: NewPage) -> None:
    phone = new_page(f"?room={duo.code}", name="Dana", phone=True)
    wait_js(phone, f"window.pacArena.room === {duo.code!r} && window.pacArena.you !== null")
    dana = phone.evaluate("window.pacArena.you")
    assert dana not in (duo.a_id, duo.b_id)
    pad = phone.locator("#pad")
    assert pad.is_visible()  # shown on touch screens only
    assert duo.a.locator("#pad").is_hidden()
    # The canvas is sharp: backing pixels = CSS pixels x devicePixelRatio (2).
    css_w, px_w = phone.evaluate(
        "[document.querySelector('#screen').getBoundingClientRect().width,"
        " document.querySelector('#screen').width]"
    )
    assert px_w == pytest.approx(css_w * 2, abs=2)
    assert css_w <= 390
    # A late joiner spawns after a short wait; its spawn rightly forgets the last direction
    # sent, so steer once Dana is on the board.
    wait_js(phone, f"window.pacArena.state.players.find(p => p.id === {dana}).state === 0")
    before = len(intents(phone))
    phone.tap("#pad .up")
    phone.tap("#pad .up")  # same direction again: not re-sent
    phone.evaluate(SWIPE, [-60, 5])  # a left swipe
    phone.evaluate(SWIPE, [4, 70])  # a down swipe
    assert intents(phone)[before:] == [bytes([0x10, d]) for d in (3, 2, 1)]
    assert phone.errors == []  # type: ignore[attr-defined]
    phone.click("#leave")
    wait_js(phone, "window.pacArena.room === null")


def test_state_traffic_stays_within_the_per_player_budget(duo: Duo) -> None:
    """Steady state, measured at the browser: binary frames at ~20 Hz, well under 1,500 B/s."""
    duo.b.wait_for_timeout(200)  # let events already queued be dispatched first
    start = time.monotonic()
    duo.b.wait_for_timeout(2000)  # (not time.sleep: the sync API dispatches events meanwhile)
    end = time.monotonic()
    frames = [
        d
        for kind, t, d in duo.b.wire  # type: ignore[attr-defined]
        if kind == "recv" and isinstance(d, bytes) and start <= t < end
    ]
    per_second = sum(len(d) + 2 for d in frames) / (end - start)  # +2: websocket frame header
    assert 25 <= len(frames) <= 55, len(frames)  # ~20 Hz send rate (loose: a busy machine)
    assert per_second < 1500, per_second
    print(f"state traffic: {len(frames) / (end - start):.1f} frames/s, {per_second:.0f} B/s")
