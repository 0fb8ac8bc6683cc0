"""System chat lines for game events (deaths, rivals eaten, players out). Pure."""

from __future__ import annotations

from collections.abc import Callable

from server.game.view import Event, EventKind, GhostId


def narrate(e: Event, name: Callable[[int | None], str]) -> str | None:
    """The room's system line for `e`, or None if the event is not worth a chat line."""
    if e.kind is EventKind.PLAYER_CAUGHT:
        ghost = GhostId(e.other).name.title() if e.other is not None else "a ghost"
        return f"{name(e.player)} was caught by {ghost}"
    if e.kind is EventKind.RIVAL_EATEN:
        return f"{name(e.player)} ate {name(e.other)}"
    if e.kind is EventKind.PLAYER_OUT:
        return f"{name(e.player)} is out"
    return None
