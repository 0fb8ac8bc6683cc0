"""The lobby's leaderboard card reads /api/leaderboard and /api/stats from the game server."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import NewPage, wait_js

pytestmark = pytest.mark.browser


def test_lobby_shows_who_is_online_and_the_boards(new_page: NewPage) -> None:
    page = new_page("", name="Boardy")
    wait_js(page, "window.pacArena && window.pacArena.connected")
    card = page.locator("#leaderboard")
    card.locator(".board-summary").wait_for()
    assert "Online now:" in card.inner_text()
    assert card.locator("h3").all_inner_texts() == ["Today", "All time", "Most wins"]
    assert page.errors == []  # type: ignore[attr-defined]
