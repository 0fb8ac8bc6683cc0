"""One room: its Arena, seats, spectators, start countdown, state frames and room chat.

The scheduler drives it: `tick(n, now)` once per simulation frame and `flush(n, now)` after
each batch of ticks; `now` is the tick's scheduled time, so nothing here reads a clock. Peers
are anything with the `Peer` methods (a websocket session in production).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from server import protocol
from server.chat import ChatError, ChatHistory, ChatLimiter, ChatLine, make_line, system_line
from server.config import Config
from server.fanout import fan_out
from server.frames import PELLET_EVENTS
from server.game import Arena, GameError
from server.game.view import Direction, Event, Mode
from server.metrics import STATS
from server.names import unique_name
from server.narrate import narrate
from server.observer import RoomObserver
from server.relay import RemotePeer

log = logging.getLogger("server.room")

WAITING, COUNTDOWN, PLAYING, OVER = "waiting", "countdown", "playing", "over"


class Peer(Protocol):
    """A connection as a room sees it; every method is synchronous and never raises."""

    owes_keyframe: bool
    chat_limiter: ChatLimiter

    def send_text(self, data: str) -> None: ...

    def send_state(self, frame: bytes) -> bool: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class Seat:
    id: int
    name: str
    token: str
    peer: Peer | None
    gone_at: float | None = None  # when the connection dropped (scheduler time)


def _wall_ms() -> int:
    return int(time.time() * 1000)


class Room:
    """A room of up to `max_seats` players plus spectators, around one Arena at a time."""

    def __init__(
        self,
        code: str,
        mode: Mode,
        private: bool,
        config: Config,
        history: ChatHistory,
        now: float,
        on_change: Callable[[Room], None],
        on_empty: Callable[[Room], None],
        on_seat_freed: Callable[[str], None],
    ) -> None:
        self.code = code
        self.mode = mode
        self.private = private
        self.config = config
        self.history = history
        self.max_seats = 1 if mode is Mode.CLASSIC else config.max_players_per_room
        self.min_to_start = 1 if mode is Mode.CLASSIC else 2
        self.state = WAITING
        self.now = now
        self.seats: dict[int, Seat] = {}
        self.spectators: set[Peer] = set()
        self._on_change = on_change
        self._on_empty = on_empty
        self._on_seat_freed = on_seat_freed
        self._countdown_end = 0.0
        self._countdown_shown = -1
        self._over_until = 0.0
        self._send_every = max(1, config.tick_hz // config.send_hz)
        self._send_phase = sum(code.encode()) % self._send_every
        self._keyframe_every = max(1, round(config.keyframe_interval_s * config.send_hz))
        self._sends = 0
        self._send_due = False
        self._events: list[Event] = []
        self._intents_arrived: list[float] = []  # since the last step
        self._intents_stepped: list[float] = []  # applied, not yet in a sent frame
        self.closed = False
        self.observers: list[RoomObserver] = []
        self.game_id = ""
        self._new_arena()

    # --- who is here ---------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return self.code

    @property
    def chat_key(self) -> str:
        return f"room:{self.code}"

    def peers(self) -> list[Peer]:
        seated = [s.peer for s in self.seats.values() if s.peer is not None]
        return [*seated, *self.spectators]

    def local_peers(self) -> list[Peer]:
        """Peers connected to this process (relayed ones get broadcasts through the observers)."""
        # Called for every state frame: one pass, no intermediate lists.
        local = [
            s.peer
            for s in self.seats.values()
            if s.peer is not None and not isinstance(s.peer, RemotePeer)
        ]
        if self.spectators:
            local += [p for p in self.spectators if not isinstance(p, RemotePeer)]
        return local

    def seat_of(self, peer: Peer) -> Seat | None:
        for seat in self.seats.values():
            if seat.peer is peer:
                return seat
        return None

    def has_free_seat(self) -> bool:
        # During OVER a new seat joins the next game (the finished arena refuses players).
        return len(self.seats) < self.max_seats

    def is_empty(self) -> bool:
        return not self.seats and not self.spectators

    def summary(self) -> protocol.RoomSummary:
        return protocol.RoomSummary(
            self.code, self.mode, len(self.seats), self.max_seats, len(self.spectators), self.state
        )

    # --- joining and leaving -------------------------------------------------------------------

    def quick_join(self, peer: Peer, name: str) -> Seat | None:
        """Quick play chose this room for its free seat (this process's rooms hold still)."""
        return self.join(peer, name, spectate=False)

    def join(self, peer: Peer, name: str, spectate: bool) -> Seat | None:
        """Seat `peer` (or make it a spectator if asked or full); sends the join burst."""
        if spectate or not self.has_free_seat():
            self.spectators.add(peer)
            self._welcome(peer, None)
            self._roster()
            self._on_change(self)
            return None
        pid = min(set(range(self.max_seats)) - set(self.seats))
        seat = Seat(pid, unique_name(name, [s.name for s in self.seats.values()]), "", peer)
        seat.token = secrets.token_urlsafe(18)
        self.seats[pid] = seat
        self._add_to_arena(pid)
        self._welcome(peer, seat)
        self._system(f"{seat.name} joined")
        for observer in self.observers:
            observer.player_joined(self, seat.name)
        self._roster()
        self._maybe_countdown()
        self._on_change(self)
        log.info("player joined", extra={"room": self.code, "player": pid})
        return seat

    def resume(self, seat: Seat, peer: Peer) -> None:
        """Give a held seat to a new connection (closing an older one still attached)."""
        old = seat.peer
        seat.peer = peer
        seat.gone_at = None
        if old is not None and old is not peer:
            old.close(1000, "resumed from another connection")
        self._welcome(peer, seat)
        if old is None:
            self._system(f"{seat.name} is back")
        self._roster()
        log.info("player resumed", extra={"room": self.code, "player": seat.id})

    def leave(self, peer: Peer) -> None:
        """`peer` leaves for good: its seat (if any) is freed at once."""
        self.spectators.discard(peer)
        seat = self.seat_of(peer)
        if seat is not None:
            self._free(seat)
        self._roster()
        self._on_change(self)
        self._check_empty()

    def disconnect(self, peer: Peer) -> None:
        """`peer`'s connection dropped: a seat is held for the grace period."""
        if peer in self.spectators:
            self.spectators.discard(peer)
            self._roster()
            self._on_change(self)
            self._check_empty()
            return
        seat = self.seat_of(peer)
        if seat is None:
            return
        seat.peer = None
        seat.gone_at = self.now
        self._roster()
        log.info("player disconnected", extra={"room": self.code, "player": seat.id})

    def _free(self, seat: Seat) -> None:
        self.seats.pop(seat.id, None)
        self._on_seat_freed(seat.token)
        with contextlib.suppress(GameError):
            self.arena.remove_player(seat.id)
        self._drain()
        self._system(f"{seat.name} left")
        for observer in self.observers:
            observer.player_left(self, seat.name)
        log.info("seat freed", extra={"room": self.code, "player": seat.id})
        if not self.seats and self.state in (COUNTDOWN, PLAYING):
            self._set_state(WAITING)
            self._new_arena()
        elif len(self.seats) < self.min_to_start and self.state == COUNTDOWN:
            self._set_state(WAITING)

    def _check_empty(self) -> None:
        if self.is_empty() and not self.closed:
            self.closed = True
            self._on_empty(self)

    # --- intents -------------------------------------------------------------------------------

    def start(self, peer: Peer) -> None:
        if self.seat_of(peer) is None:
            raise protocol.ProtocolError("spectator", "only a seated player can start", "start")
        if self.state == WAITING:
            self._begin_countdown()

    def input(self, peer: Peer, direction: Direction, arrived: float) -> None:
        """A wanted direction; `arrived` (`time.monotonic()`) times it to the frame showing it."""
        seat = self.seat_of(peer)
        if seat is None:
            raise protocol.ProtocolError("spectator", "spectators cannot move", "input")
        # The core keeps only the latest wanted direction and applies it at the next step.
        try:
            self.arena.set_direction(seat.id, direction)
        except GameError:
            return
        if self.state == PLAYING:
            self._intents_arrived.append(arrived)

    def chat(self, peer: Peer, raw: str, now_monotonic: float) -> None:
        seat = self.seat_of(peer)
        if seat is None and peer not in self.spectators:
            raise protocol.ProtocolError("not_in_room", "you are not in a room", "chat")
        sender = seat.name if seat is not None else "spectator"
        try:
            line = make_line(
                "room",
                sender,
                raw,
                self.config.chat_max_chars,
                _wall_ms(),
                peer.chat_limiter,
                now_monotonic,
            )
        except ChatError as exc:
            raise protocol.ProtocolError(exc.code, exc.message, "chat") from None
        self._post(line)
        for observer in self.observers:
            observer.chatted(self, sender)

    def request_keyframe(self, peer: Peer) -> None:
        peer.owes_keyframe = True

    # --- the clock -----------------------------------------------------------------------------

    def tick(self, n: int, now: float) -> None:
        self.now = now
        if self.state == PLAYING:
            self.arena.step()
            if self._intents_arrived:  # applied by this step: the next frame shows them
                self._intents_stepped += self._intents_arrived
                self._intents_arrived = []
            self._drain()
            if self.arena.over:
                self._game_over()
        # Rooms are spread over the send period so they do not all encode on the same tick.
        if (n + self._send_phase) % self._send_every == 0:
            self._send_due = True

    def flush(self, n: int, now: float) -> None:
        self.now = now
        if self.state == COUNTDOWN:
            left = self._countdown_end - now
            if left <= 0:
                self._set_state(PLAYING)
            elif int(left + 0.999) != self._countdown_shown:
                self._countdown_shown = int(left + 0.999)
                self._broadcast(protocol.room_state(COUNTDOWN, self._countdown_shown))
        elif self.state == OVER and now >= self._over_until:
            self._new_arena()
            self._set_state(WAITING)
            self._maybe_countdown()
        grace = self.config.reconnect_grace_s
        for seat in list(self.seats.values()):
            if seat.peer is None and seat.gone_at is not None and now - seat.gone_at >= grace:
                self._free(seat)
                self._roster()
                self._on_change(self)
        if self._send_due:
            self._send_due = False
            self._send_state()
        self._check_empty()

    def failed(self, exc: BaseException) -> None:
        """The scheduler dropped this room after an exception: tell everyone and close."""
        self.closed = True
        STATS.rooms_failed += 1
        for peer in self.peers():
            peer.send_text(protocol.error("internal", "the room stopped after an internal error"))
            peer.close(1011, "room error")
        for seat in self.seats.values():
            self._on_seat_freed(seat.token)
        self._on_empty(self)

    # --- internals -----------------------------------------------------------------------------

    def _new_arena(self) -> None:
        self.arena = Arena(
            mode=self.mode,
            seed=secrets.randbits(32),
            maze=None,
            level_limit=self.config.level_limit,
        )
        self.maze_rows = list(self.arena.maze.rows)
        self.encoder = protocol.StateEncoder(len(self.arena.maze.pellet_tiles))
        self._events = []
        self.game_id = f"{self.code}-{secrets.token_hex(6)}"
        for pid in sorted(self.seats):
            self._add_to_arena(pid)
        for peer in self.peers():
            peer.owes_keyframe = True

    def _add_to_arena(self, pid: int) -> None:
        if self.arena.over:
            return  # seated now, playing from the next game
        try:
            self.arena.add_player(pid)
        except GameError:
            log.warning("arena refused player", extra={"room": self.code, "player": pid})
        self._drain()

    def _drain(self) -> None:
        events = self.arena.drain_events()
        if not events:
            return
        self._events += events
        # Nearly every step's events are pellets only: they travel in the state frames alone.
        notable = [event for event in events if event.kind not in PELLET_EVENTS]
        if not notable:
            return
        for event in notable:
            line = narrate(event, self._name)
            if line is not None:
                self._system(line)
        for observer in self.observers:
            observer.game_events(self, notable)

    def _name(self, pid: int | None) -> str:
        seat = self.seats.get(pid) if pid is not None else None
        return seat.name if seat is not None else f"player {pid}"

    def _game_over(self) -> None:
        view = self.arena.view()
        winner = view.winner
        scores = [(p.id, self._name(p.id), p.score) for p in view.players]
        if winner is not None:
            self._system(f"{self._name(winner)} wins!")
        else:
            self._system("game over")
        self._set_state(OVER)
        self._broadcast(protocol.game_over(winner, scores))
        for observer in self.observers:
            observer.game_over(self, view)
        self._over_until = self.now + self.config.game_over_hold_s
        log.info("game over", extra={"room": self.code, "winner": winner})

    def _maybe_countdown(self) -> None:
        if self.state == WAITING and len(self.seats) >= self.min_to_start:
            self._begin_countdown()

    def _begin_countdown(self) -> None:
        self._countdown_end = self.now + self.config.countdown_s
        self._countdown_shown = -1
        if self.config.countdown_s <= 0:
            self._set_state(PLAYING)
        else:
            self.state = COUNTDOWN
            self._on_change(self)

    def _set_state(self, state: str) -> None:
        self.state = state
        self._broadcast(protocol.room_state(state))
        self._on_change(self)
        if state == PLAYING:
            for observer in self.observers:
                observer.game_started(self)

    def _welcome(self, peer: Peer, seat: Seat | None) -> None:
        peer.send_text(
            protocol.joined(
                self.code,
                self.mode,
                None if seat is None else seat.id,
                None if seat is None else seat.token,
                self.maze_rows,
                self.state,
            )
        )
        lines = [line.to_wire() for line in self.history.recent(self.chat_key)]
        peer.send_text(protocol.history("room", lines))
        if self.state == COUNTDOWN:
            left = max(0, int(self._countdown_end - self.now + 0.999))
            peer.send_text(protocol.room_state(COUNTDOWN, left))
        # The keyframe goes out with the next send tick (at most one send period away).
        peer.owes_keyframe = True

    def _roster(self) -> None:
        players = [
            (s.id, s.name, s.peer is not None)
            for s in sorted(self.seats.values(), key=lambda s: s.id)
        ]
        self._broadcast(protocol.roster(players, len(self.spectators)))

    def _system(self, text: str) -> None:
        self._post(system_line("room", text, _wall_ms()))

    def _post(self, line: ChatLine) -> None:
        self.history.append(self.chat_key, line)
        self._broadcast(protocol.chat_line(line.to_wire()))

    def _broadcast(self, data: str) -> None:
        for peer in self.local_peers():
            peer.send_text(data)
        for observer in self.observers:
            observer.broadcast(self, data)

    def _send_state(self) -> None:
        frame = self.encoder.next_snapshot(self.arena.snapshot(), self._events)
        self._events = []
        self._sends += 1
        everyone_keyframe = frame.delta is None or self._sends % self._keyframe_every == 0
        if everyone_keyframe:
            self.encoder.synced()
        fan_out(frame, self.local_peers(), everyone_keyframe)
        if self._intents_stepped:
            STATS.observe_intents(self._intents_stepped)
            self._intents_stepped = []
        for observer in self.observers:
            observer.frame(self, frame, everyone_keyframe)
