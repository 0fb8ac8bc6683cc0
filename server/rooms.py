"""The room registry and the lobby: codes, quick play, resume tokens, the live room list.

This process's rooms live in memory; `RoomDirectory` is the small surface the sessions use,
so a shared-backend registry (rooms served across processes) can stand in for it later.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Protocol

from server import protocol
from server.chat import ChatError, ChatHistory, ChatLine, make_line
from server.config import Config
from server.game.view import Mode
from server.room import Peer, Room, Seat
from server.scheduler import Scheduler

log = logging.getLogger("server.rooms")

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I/L/1, O/0
CODE_LENGTH = 5
LOBBY = "lobby"
ROOM_LIST_PERIOD_S = 1.0


def new_code(taken: set[str] | dict[str, Room]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


class RoomDirectory(Protocol):
    """Everything a session needs from the registry: the seam for a cross-process registry.

    `Registry` below serves this process's rooms from memory; a shared-backend version would
    find rooms, seats and lobby members through the bus and relay to the owning process.
    """

    draining: bool

    def create(self, mode: Mode, private: bool) -> Room: ...

    def find(self, code: str) -> Room | None: ...

    def quick_play(self, mode: Mode) -> Room: ...

    def seat_for(self, token: str) -> tuple[Room, Seat] | None: ...

    def register_seat(self, room: Room, seat: Seat) -> None: ...

    def enter_lobby(self, peer: Peer) -> None: ...

    def leave_lobby(self, peer: Peer) -> None: ...

    def lobby_chat(self, peer: Peer, name: str, raw: str) -> None: ...


class Registry:
    """Rooms of this process, the lobby's members and its chat; ticked by the scheduler."""

    def __init__(self, config: Config, scheduler: Scheduler, history: ChatHistory) -> None:
        self.config = config
        self.scheduler = scheduler
        self.history = history
        self.rooms: dict[str, Room] = {}
        self.tokens: dict[str, str] = {}  # resume token -> room code
        self.lobby: set[Peer] = set()
        self.draining = False
        self._list_dirty = False
        self._list_sent = float("-inf")
        scheduler.add(self)

    # --- Ticked: the lobby's room list goes out at most once a second ---------------------------

    @property
    def key(self) -> str:
        return "\x00lobby"

    def tick(self, n: int, now: float) -> None:
        pass

    def flush(self, n: int, now: float) -> None:
        if self._list_dirty and now - self._list_sent >= ROOM_LIST_PERIOD_S:
            self._list_dirty = False
            self._list_sent = now
            data = self.room_list()
            for peer in self.lobby:
                peer.send_text(data)

    def failed(self, exc: BaseException) -> None:  # pragma: no cover - flush cannot raise
        self.scheduler.add(self)

    # --- rooms ---------------------------------------------------------------------------------

    def room_list(self) -> str:
        public = [r.summary() for r in self.rooms.values() if not r.private and not r.closed]
        return protocol.rooms(public)

    def create(self, mode: Mode, private: bool) -> Room:
        if len(self.rooms) >= self.config.max_rooms:
            raise protocol.ProtocolError("rooms_full", "no more rooms can be opened right now")
        room = Room(
            new_code(self.rooms),
            mode,
            private,
            self.config,
            self.history,
            self.scheduler.now_tick(),
            on_change=self._changed,
            on_empty=self._dispose,
            on_seat_freed=self._seat_freed,
        )
        self.rooms[room.code] = room
        self.scheduler.add(room)
        self._list_dirty = True
        log.info("room created", extra={"room": room.code, "mode": mode.name.lower()})
        return room

    def find(self, code: str) -> Room | None:
        room = self.rooms.get(code)
        return None if room is None or room.closed else room

    def quick_play(self, mode: Mode) -> Room:
        open_rooms = [
            r
            for r in self.rooms.values()
            if r.mode is mode and not r.private and not r.closed and r.has_free_seat()
        ]
        if open_rooms:
            return max(open_rooms, key=lambda r: (len(r.seats), r.code))
        return self.create(mode, private=False)

    def seat_for(self, token: str) -> tuple[Room, Seat] | None:
        code = self.tokens.get(token)
        room = self.rooms.get(code) if code is not None else None
        if room is None or room.closed:
            return None
        for seat in room.seats.values():
            if seat.token == token:
                return room, seat
        return None

    def register_seat(self, room: Room, seat: Seat) -> None:
        self.tokens[seat.token] = room.code

    def _seat_freed(self, token: str) -> None:
        self.tokens.pop(token, None)

    def _changed(self, room: Room) -> None:
        if not room.private:
            self._list_dirty = True

    def _dispose(self, room: Room) -> None:
        self.rooms.pop(room.code, None)
        self.scheduler.remove(room.code)
        self.history.drop(room.chat_key)
        for seat in room.seats.values():
            self.tokens.pop(seat.token, None)
        self._list_dirty = True
        log.info("room disposed", extra={"room": room.code})

    # --- lobby ---------------------------------------------------------------------------------

    def enter_lobby(self, peer: Peer) -> None:
        self.lobby.add(peer)
        peer.send_text(self.room_list())
        lines = [line.to_wire() for line in self.history.recent(LOBBY)]
        peer.send_text(protocol.history(LOBBY, lines))

    def leave_lobby(self, peer: Peer) -> None:
        self.lobby.discard(peer)

    def lobby_chat(self, peer: Peer, name: str, raw: str) -> None:
        try:
            line = make_line(
                LOBBY,
                name,
                raw,
                self.config.chat_max_chars,
                int(time.time() * 1000),
                peer.chat_limiter,
                time.monotonic(),
            )
        except ChatError as exc:
            raise protocol.ProtocolError(exc.code, exc.message, "chat") from None
        self.post_lobby(line)

    def post_lobby(self, line: ChatLine) -> None:
        self.history.append(LOBBY, line)
        data = protocol.chat_line(line.to_wire())
        for member in self.lobby:
            member.send_text(data)
