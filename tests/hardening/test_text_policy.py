"""Names and chat lines against hostile text: markup, controls, bidi, invisible, zalgo, long."""

from __future__ import annotations

import pytest

from server.chat import MAX_MARKS, ChatError, clean_text
from server.names import MAX_NAME, InvalidName, clean_name

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
CONTROLS = "".join(map(chr, range(0, 32))) + "\x7f" + "".join(map(chr, range(0x80, 0xA0)))


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "Ada<b>",
        '"><svg onload=1>',
        "javascript:x",
        "&lt;b&gt;",
        "x" * (MAX_NAME + 1),  # one long word
        "\u3164\u3164\u3164",  # Hangul fillers: letters that draw nothing
        "\u3164",
        BIDI,
        ZERO_WIDTH,
        CONTROLS,
        "a\u0300\u0301\u0302",  # zalgo: marks are not letters in a name
        "\ud800",  # a lone surrogate
    ],
)
def test_hostile_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        clean_name(raw)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (f"A{BIDI}da", "Ada"),  # a right-to-left override cannot flip the name around
        (f"{ZERO_WIDTH}Ada{ZERO_WIDTH}", "Ada"),
        ("Ad\u200da", "Ada"),  # no look-alike twins made with joiners
        ("\x00A\x1bd\x7fa\x85", "Ada"),
        ("Ada\u3164", "Ada"),
        ("Ada\u2028Lovelace", "Ada Lovelace"),
    ],
)
def test_invisible_and_direction_characters_are_removed_from_names(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_clean_names_hold_only_visible_allowed_characters() -> None:
    for raw in [f"{BIDI}{ZERO_WIDTH}x{CONTROLS}y", "Ze\u0301", "Zoë\u202e"]:
        name = clean_name(raw)
        assert all(ch.isalnum() or ch in " _-." for ch in name), name
        assert not set(name) & set(BIDI + ZERO_WIDTH + CONTROLS)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # Markup stays text: the client renders it with textContent, so it shows literally.
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        (f"gg{BIDI}wp", "ggwp"),
        (f"{ZERO_WIDTH}hi{ZERO_WIDTH}", "hi"),
        ("line one\nline two\r\n", "line one line two"),
        ("a\u2028b\u2029c", "a b c"),
        ("bell\x07 esc\x1b[31m red", "bell esc[31m red"),
        ("z" + "\u0300" * 40 + "x", "z" + "\u0300" * MAX_MARKS + "x"),
        ("Tiê\u0301ng Viê\u0323t", "Tiếng Việt"),  # NFC keeps real accents whole
        (
            "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
            "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd",
        ),
    ],
)
def test_chat_lines_are_cleaned(raw: str, clean: str) -> None:
    assert clean_text(raw, 200) == clean


@pytest.mark.parametrize("raw", ["", "   ", CONTROLS, BIDI + ZERO_WIDTH, "\u2028\u2029"])
def test_chat_lines_with_nothing_visible_are_refused(raw: str) -> None:
    with pytest.raises(ChatError) as caught:
        clean_text(raw, 200)
    assert caught.value.code == "chat_invalid"


def test_a_very_long_word_is_capped_by_the_line_limit() -> None:
    assert clean_text("w" * 200, 200) == "w" * 200
    with pytest.raises(ChatError):
        clean_text("w" * 201, 200)
    # Invisible padding does not count towards the limit, and cannot smuggle more in.
    assert clean_text("w" * 200 + ZERO_WIDTH * 50, 200) == "w" * 200
