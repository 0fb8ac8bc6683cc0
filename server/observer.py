"""What a room tells the rest of the server: recording, relaying to other processes.

Apart from `server.room` because that module is compiled (mypyc) in production, and an
interpreted class (the recorder, a cluster owner) cannot subclass a compiled one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game.view import ArenaView, Event

if TYPE_CHECKING:
    from server import protocol
    from server.room import Room


class RoomObserver:
    """Told what a room does (recording, relaying to other processes); every hook is a no-op."""

    def frame(self, room: Room, frame: protocol.EncodedFrame, everyone_keyframe: bool) -> None:
        """A state frame went to the local peers (called once per send tick)."""

    def broadcast(self, room: Room, data: str) -> None:
        """A text message went to every local peer."""

    def game_events(self, room: Room, events: list[Event]) -> None:
        """Events the arena emitted (drained after each step, join or leave), except pellets
        eaten: those are far too many and travel in the state frames alone."""

    def game_started(self, room: Room) -> None: ...

    def game_over(self, room: Room, view: ArenaView) -> None: ...

    def player_joined(self, room: Room, name: str) -> None: ...

    def player_left(self, room: Room, name: str) -> None: ...

    def chatted(self, room: Room, name: str) -> None: ...
