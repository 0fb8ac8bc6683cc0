"""The room registry and the lobby: codes, quick play, resume tokens, the live room list.

This process's rooms live in memory; `RoomDirectory` is the small surface the sessions use,
so a shared-backend registry (rooms served across processes) can stand in for it later.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from server import protocol
from server.chat import ChatError, ChatHistory, ChatLine, make_line
from server.config import Config
from server.game.view import Direction, Mode
from server.observer import RoomObserver
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


class RoomLike(Protocol):
    """A room as a session uses it: a local `Room`, or a handle to one another process runs."""

    @property
    def code(self) -> str: ...

    @property
    def closed(self) -> bool: ...

    def join(self, peer: Peer, name: str, spectate: bool) -> Seat | None: ...

    def quick_join(self, peer: Peer, name: str) -> Seat | None:
        """Join for a seat that quick play found here (a room elsewhere may fill meanwhile)."""

    def resume(self, seat: Seat, peer: Peer) -> None: ...

    def leave(self, peer: Peer) -> None: ...

    def disconnect(self, peer: Peer) -> None: ...

    def start(self, peer: Peer) -> None: ...

    def input(self, peer: Peer, direction: Direction, arrived: float) -> None: ...

    def chat(self, peer: Peer, raw: str, now_monotonic: float) -> None: ...

    def request_keyframe(self, peer: Peer) -> None: ...


class RoomDirectory(Protocol):
    """Everything a session needs from the registry: the seam for a cross-process registry.

    `Registry` below serves this process's rooms from memory; `server.cluster.Cluster` finds
    rooms, seats and lobby members through the bus and relays to the owning process.
    """

    @property
    def draining(self) -> bool: ...

    def create(self, mode: Mode, private: bool) -> RoomLike: ...

    def find(self, code: str) -> RoomLike | None: ...

    def quick_play(self, mode: Mode) -> RoomLike: ...

    def seat_for(self, token: str) -> tuple[RoomLike, Seat] | None: ...

    def seat_elsewhere(self, token: str, peer: Peer) -> None:
        """`token` holds no seat here: if it does on another process, take `peer` (waiting in
        the lobby meanwhile) back to it there."""

    def register_seat(self, room: RoomLike, seat: Seat) -> None: ...

    def enter_lobby(self, peer: Peer) -> None: ...

    def leave_lobby(self, peer: Peer) -> None: ...

    def lobby_chat(self, peer: Peer, name: str, raw: str) -> None: ...


class Registry:
    """Rooms of this process, the lobby's members and its chat; ticked by the scheduler."""

    def __init__(
        self,
        config: Config,
        scheduler: Scheduler,
        history: ChatHistory,
        observers: Sequence[RoomObserver] = (),
    ) -> None:
        self.config = config
        self.scheduler = scheduler
        self.history = history
        self.observers = list(observers)  # attached to every room this process runs
        self.rooms: dict[str, Room] = {}
        self.tokens: dict[str, str] = {}  # resume token -> room code
        self.lobby: set[Peer] = set()
        self.draining = False
        # Cluster mode: rooms other processes run (for the list), where lobby lines go, and
        # who hears of disposed rooms and freed seats.
        self.remote_summaries: list[protocol.RoomSummary] = []
        self.lobby_out: Callable[[ChatLine], None] | None = None
        self.on_dispose: list[Callable[[Room], None]] = []
        self.on_seat_freed: list[Callable[[str], None]] = []
        # The lobby's members have not seen the latest change to a listed room; the encoded
        # list is built at most once a second for all of them (see `room_list`).
        self._list_dirty = False
        self._list_sent = float("-inf")
        self._list: str | None = None
        self._list_built = float("-inf")
        self._list_stale = False
        scheduler.add(self)

    # --- Ticked: the lobby's room list goes out at most once a second ---------------------------

    @property
    def key(self) -> str:
        return "\x00lobby"

    def tick(self, n: int, now: float) -> None:
        pass

    def flush(self, n: int, now: float) -> None:
        if self._list_dirty and self.lobby and now - self._list_sent >= ROOM_LIST_PERIOD_S:
            self._list_dirty = False
            self._list_sent = now
            data = self._build_list(now)
            for peer in self.lobby:
                peer.send_text(data)

    def failed(self, exc: BaseException) -> None:  # pragma: no cover - flush cannot raise
        self.scheduler.add(self)

    # --- rooms ---------------------------------------------------------------------------------

    def room_list(self) -> str:
        """The encoded list of public rooms for someone entering the lobby: the one built last,
        unless rooms changed since and it is a second old (the lobby's own refresh period).

        Every player who leaves a room comes back through the lobby; on a busy server that is
        dozens a second, and a list of hundreds of rooms built for each of them cost more CPU
        than running the rooms. A list up to a second old is then followed by a fresh one
        within the second, as the lobby's members get.
        """
        now = self.scheduler.clock()
        if self._list is None or (
            self._list_stale and now - self._list_built >= ROOM_LIST_PERIOD_S
        ):
            return self._build_list(now)
        return self._list

    def _build_list(self, now: float) -> str:
        public = [r.summary() for r in self.rooms.values() if not r.private and not r.closed]
        public += [s for s in self.remote_summaries if s.code not in self.rooms]
        self._list = protocol.rooms(sorted(public, key=lambda s: s.code))
        self._list_built = now
        self._list_stale = False
        return self._list

    def mark_list_dirty(self) -> None:
        self._list_dirty = True
        self._list_stale = True

    def create(self, mode: Mode, private: bool, taken: Sequence[str] = ()) -> Room:
        if len(self.rooms) >= self.config.max_rooms:
            raise protocol.ProtocolError("rooms_full", "no more rooms can be opened right now")
        room = Room(
            new_code({*self.rooms, *taken}),
            mode,
            private,
            self.config,
            self.history,
            self.scheduler.now_tick(),
            on_change=self._changed,
            on_empty=self._dispose,
            on_seat_freed=self._seat_freed,
        )
        self.adopt(room)
        log.info("room created", extra={"room": room.code, "mode": mode.name.lower()})
        return room

    def adopt(self, room: Room) -> None:
        """Run `room` here (a new one, or one taken over from its snapshot)."""
        room.observers.extend(self.observers)
        self.rooms[room.code] = room
        for seat in room.seats.values():
            self.tokens[seat.token] = room.code
        self.scheduler.add(room)
        self.mark_list_dirty()

    def let_go(self, room: Room) -> None:
        """Stop running `room` here without disposing of it (another process runs it now)."""
        if self.rooms.get(room.code) is room:
            del self.rooms[room.code]
        self.scheduler.remove(room.code)
        for seat in room.seats.values():
            self.tokens.pop(seat.token, None)
        room.closed = True
        self.mark_list_dirty()

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

    def seat_elsewhere(self, token: str, peer: Peer) -> None:
        pass  # one process: there is nowhere else

    def register_seat(self, room: RoomLike, seat: Seat) -> None:
        self.tokens[seat.token] = room.code

    def _seat_freed(self, token: str) -> None:
        self.tokens.pop(token, None)
        for hook in self.on_seat_freed:
            hook(token)

    def _changed(self, room: Room) -> None:
        if not room.private:
            self.mark_list_dirty()

    def _dispose(self, room: Room) -> None:
        self.rooms.pop(room.code, None)
        self.scheduler.remove(room.code)
        self.history.drop(room.chat_key)
        for seat in room.seats.values():
            self.tokens.pop(seat.token, None)
        self.mark_list_dirty()
        log.info("room disposed", extra={"room": room.code})
        for hook in self.on_dispose:
            hook(room)

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
        if self.lobby_out is not None:
            self.lobby_out(line)
        else:
            self.post_lobby(line)

    def post_lobby(self, line: ChatLine) -> None:
        self.history.append(LOBBY, line)
        data = protocol.chat_line(line.to_wire())
        for member in self.lobby:
            member.send_text(data)
