"""XSS payloads sent through chat and names render as inert text in real Chromium."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import NewPage, wait_js

pytestmark = pytest.mark.browser

# Each one sets window.__pwned if any part of it ever runs, in the page or a frame of it.
PAYLOADS = [
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<script>window.__pwned='script'</script>",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
    "<svg><script>window.__pwned='svg-script'</script></svg>",
    '"><iframe srcdoc="<script>parent.__pwned=\'iframe\'</script>"></iframe>',
    "<a href=\"javascript:window.__pwned='href'\" id=pwnlink>click</a>",
    "<details open ontoggle=\"window.__pwned='details'\">x</details>",
    "<body onload=\"window.__pwned='body'\">",
    "<input autofocus onfocus=\"window.__pwned='focus'\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
    "<object data=\"javascript:window.__pwned='object'\"></object>",
    "<style>@import 'javascript:window.__pwned=1';</style><b>bold</b>",
    "{{constructor.constructor(\"window.__pwned='template'\")()}}",
    "${window.__pwned='literal'}",
    "javascript:window.__pwned='bare'",
    "&lt;img src=x onerror=window.__pwned='entity'&gt;",
    "\u202e<img src=x onerror=\"window.__pwned='bidi'\">gnp.exe",
    "<img\u200bsrc=x onerror=\"window.__pwned='zw'\">",
]
LONG_WORD = "W" * 200  # one very long word must wrap inside the panel, not widen it


def inert(text: str) -> str:
    """What the server makes of a payload: the same text without bidi and zero-width marks."""
    return text.replace("\u202e", "").replace("\u200b", "")


ALLOWED_TAGS = "document.querySelectorAll('#chat-log *:not(div.line):not(span)').length"


def test_chat_and_name_payloads_never_run(new_page: NewPage) -> None:
    sender = new_page("", name="Mallory")
    # A name with a right-to-left override and zero-width characters arrives cleaned.
    reader = new_page("", name="\u202eRea\u200bder\u2066")
    for page in (sender, reader):
        wait_js(page, "window.pacArena && window.pacArena.connected")
    for text in [*PAYLOADS, LONG_WORD]:
        sender.fill("#chat-input", text)
        sender.press("#chat-input", "Enter")
        wait_js(sender, "document.querySelector('#chat-input').value === ''")
    wait_js(reader, f"document.querySelector('#chat-log').textContent.includes({LONG_WORD!r})")
    reader.fill("#chat-input", "hi from reader")
    reader.press("#chat-input", "Enter")
    wait_js(sender, "document.querySelector('#chat-log').textContent.includes('hi from reader')")
    sender.wait_for_timeout(500)  # time for any image error or load handler to fire

    for page in (sender, reader):
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate(ALLOWED_TAGS) == 0  # only our own div.line and spans
        assert page.evaluate("document.querySelectorAll('img, iframe, object, svg').length") == 0
        lines = page.evaluate(
            "[...document.querySelectorAll('#chat-log .line:not(.system)')].map(r =>"
            " [r.querySelector('.from')?.textContent, r.querySelector('.text').textContent])"
        )
        assert [text for who, text in lines if who == "Mallory:"] == [
            *map(inert, PAYLOADS),
            LONG_WORD,
        ]
        log_box = page.evaluate(
            "(() => { const l = document.querySelector('#chat-log');"
            " return [l.scrollWidth, l.clientWidth]; })()"
        )
        assert log_box[0] <= log_box[1], f"a long word widened the chat log: {log_box}"
        assert page.errors == []  # type: ignore[attr-defined]
    # The sender's name shows as text; the reader's bidi/zero-width name arrived cleaned.
    froms = sender.locator("#chat-log .from").all_text_contents()
    assert "Reader:" in froms and not any("\u202e" in f or "\u200b" in f for f in froms)


def test_markup_in_a_name_is_refused_and_shown_as_text(new_page: NewPage) -> None:
    page = new_page("", name="<svg/onload=1>")  # names are at most 16 characters
    message = page.locator("#lobby-message")
    message.wait_for(state="visible")
    assert "not allowed" in message.inner_text()
    page.wait_for_timeout(300)
    assert page.evaluate("document.querySelectorAll('svg').length") == 0
