"""Player names: normalize, validate and make unique within a room."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

MAX_NAME = 16
_EXTRA = frozenset(" _-.")
# Categories removed before validating: control, format (includes bidi controls and
# zero-width characters), surrogates, private use and unassigned code points.
_STRIP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Letters that draw nothing (Hangul fillers): a name made of them would look empty.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


class InvalidName(ValueError):
    """The name cannot be used; the message says why."""


def clean_name(raw: str) -> str:
    """Return the accepted form of `raw`, or raise `InvalidName`.

    NFC-normalizes, drops control/format/bidi characters, collapses runs of spaces and trims;
    the result must be 1-16 characters of letters, digits, space and `_-.`.
    """
    text = unicodedata.normalize("NFC", raw)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in _STRIP and ch not in INVISIBLE_LETTERS
    )
    text = " ".join(text.split())
    if not text:
        raise InvalidName("a name needs at least one letter or digit")
    if len(text) > MAX_NAME:
        raise InvalidName(f"a name is at most {MAX_NAME} characters")
    for ch in text:
        if not (ch.isalnum() or ch in _EXTRA):
            raise InvalidName(f"{ch!r} is not allowed in a name (letters, digits, space, _-.)")
    if not any(ch.isalnum() for ch in text):
        raise InvalidName("a name needs at least one letter or digit")
    return text


def unique_name(name: str, taken: Collection[str]) -> str:
    """Return `name`, or `name 2`, `name 3`... (trimmed to fit) if it is taken (case-blind)."""
    lowered = {t.casefold() for t in taken}
    if name.casefold() not in lowered:
        return name
    n = 2
    while True:
        suffix = f" {n}"
        candidate = name[: MAX_NAME - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in lowered:
            return candidate
        n += 1
