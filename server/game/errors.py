"""Errors the game core raises; every one carries a message fit to show a player or a log."""

from __future__ import annotations


class GameError(Exception):
    """Base class: a request the game cannot honour."""


class MazeError(GameError):
    """A maze file is malformed; the message names the row and column at fault."""


class SeatTaken(GameError):
    """The seat (player id) asked for already has a player."""


class ArenaFull(GameError):
    """No more players fit: classic takes one, the arena eight."""


class BadPlayer(GameError):
    """A player id outside 0..7, or one that is not in the game."""


class GameIsOver(GameError):
    """The game has ended; nobody can join it any more."""
