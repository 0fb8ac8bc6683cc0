"""Player names: normalization, validation and uniqueness in a room."""

from __future__ import annotations

import pytest

from server.names import InvalidName, clean_name, unique_name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ada", "Ada"),
        ("  Ada   Lovelace ", "Ada Lovelace"),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # NFC: combining diaeresis folds into one character
        ("\u202eAda\u200b", "Ada"),  # bidi override and zero-width space removed
        ("p_1-x.y", "p_1-x.y"),
        ("李小龙", "李小龙"),
        ("x" * 16, "x" * 16),
    ],
)
def test_accepted_names(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\u200b", "x" * 17, "<script>", "a/b", "...", "Ada!"])
def test_refused_names(raw: str) -> None:
    with pytest.raises(InvalidName):
        clean_name(raw)


def test_unique_names_get_a_suffix() -> None:
    assert unique_name("Ada", []) == "Ada"
    assert unique_name("Ada", ["ada"]) == "Ada 2"
    assert unique_name("Ada", ["Ada", "Ada 2"]) == "Ada 3"
    long = "x" * 16
    assert unique_name(long, [long]) == "x" * 14 + " 2"
