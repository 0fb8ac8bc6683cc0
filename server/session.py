"""One websocket connection: the hello handshake, message limits, dispatch to lobby and room.

`Connection` is the `Peer` a room writes to: text frames are queued on the transport at once
(never dropped); state frames are skipped while the transport's write buffer is over the high
mark (latest snapshot wins), and a client that stays over it too long is disconnected.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from server import protocol
from server.chat import ChatLimiter, TokenBucket
from server.config import Config
from server.metrics import STATS
from server.names import InvalidName, clean_name
from server.rooms import RoomDirectory, RoomLike
from server.transport import GameConnection

log = logging.getLogger("server.session")

FLOOD_WINDOW_S = 5.0
TEXT_BACKLOG_FACTOR = 16  # times write_buffer_high


class Connection:
    """A websocket as rooms see it: synchronous, never-raising sends."""

    def __init__(self, ws: GameConnection, config: Config, now: float) -> None:
        self.ws = ws
        self.config = config
        # Every state frame sent reads these; a connection's transport never changes once it
        # is open, so they are fetched once rather than per frame.
        self._transport = ws.transport
        self._write_buffer_high = config.write_buffer_high
        self.owes_keyframe = True
        self.chat_limiter = ChatLimiter(config.chat_lines_per_10s, now)
        self.slow_since: float | None = None
        self.closing = False
        self.close_task: asyncio.Task[None] | None = None
        # Told when the cluster seats this connection in another room than the one its session
        # entered (quick play's seat elsewhere was gone; see Cluster._seat_here).
        self.on_moved: Callable[[RoomLike], None] | None = None

    def moved(self, room: RoomLike) -> None:
        if self.on_moved is not None:
            self.on_moved(room)

    def _open(self) -> bool:
        # open_for_frames, not the protocol's state property: see GameConnection
        return not self.closing and self.ws.open_for_frames and not self._transport.is_closing()

    def _stuck(self, backlog: int) -> bool:
        """Note whether the client is behind; true once it has been for slow_client_s."""
        if backlog <= self._write_buffer_high:
            self.slow_since = None
            return False
        now = time.monotonic()
        if self.slow_since is None:
            self.slow_since = now
        return now - self.slow_since >= self.config.slow_client_s

    def send_text(self, data: str) -> None:
        """Queue a control or chat message; never dropped, but a client that stays behind for
        slow_client_s (as with state frames; in the lobby only text flows) or lets them pile up
        far past the state-frame threshold is closed."""
        if not self._open():
            return
        backlog = self._transport.get_write_buffer_size()
        if backlog > TEXT_BACKLOG_FACTOR * self._write_buffer_high or self._stuck(backlog):
            self.close(1008, "too slow: the connection cannot keep up")
            return
        try:
            payload = data.encode()
            self.ws.protocol.send_text(payload)
            self.ws.send_data()
            STATS.messages_sent += 1
            STATS.text_bytes_sent += len(payload)
        except Exception:
            log.debug("text send failed", exc_info=True)

    def send_state(self, frame: bytes) -> bool:
        """Write a prebuilt binary frame unless the client is behind; return whether sent."""
        if not self._open():
            return False
        transport = self._transport
        backlog = transport.get_write_buffer_size()
        if backlog > self._write_buffer_high:
            if self._stuck(backlog):
                self.close(1008, "too slow: the connection cannot keep up")
            return False
        self.slow_since = None
        # Server frames are unmasked and we use no extensions, so the same bytes fit everyone.
        transport.write(frame)
        return True

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        STATS.closed_for[str(code)] += 1
        task = asyncio.get_running_loop().create_task(self.ws.close(code, reason))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        self.close_task = task


class Session:
    """Runs one connection from `hello` to close."""

    def __init__(self, ws: GameConnection, config: Config, registry: RoomDirectory) -> None:
        now = time.monotonic()
        self.ws = ws
        self.config = config
        self.registry = registry
        self.conn = Connection(ws, config, now)
        self.conn.on_moved = self._moved
        self.id = "s-" + secrets.token_hex(4)
        self.name: str | None = None
        self.room: RoomLike | None = None
        self.bucket = TokenBucket(config.messages_per_second, config.message_burst, now)
        self._rejected = 0
        self._rejected_since = now
        self._last_limit_error = float("-inf")

    def error(self, code: str, message: str, ref: str | None = None) -> None:
        STATS.errors_sent[code] += 1
        self.conn.send_text(protocol.error(code, message, ref))

    async def run(self) -> None:
        self.ws.binary_handler = self.receive  # intents skip the reader task (see transport)
        try:
            async for data in self.ws:
                self.receive(data)
        except ConnectionClosed:
            pass
        finally:
            self.ws.binary_handler = None
            self._gone()
        # Returning closes with 1000; let a close we started (with its own code) finish first.
        if self.conn.close_task is not None:
            await asyncio.wait([self.conn.close_task])

    def receive(self, data: str | bytes) -> None:
        """Handle one client message; never raises."""
        if self.conn.closing:
            # Discard rather than stop reading: the library reads the peer's close
            # reply only once the queued messages are consumed (else close_timeout).
            return
        STATS.messages_received += 1
        now = time.monotonic()
        if not self._allow(now):
            return
        try:
            self._handle(data, now)
        except protocol.ProtocolError as exc:
            self.error(exc.code, exc.message, exc.ref)
        except Exception:
            log.exception("message handling failed", extra={"session": self.id})
            self.error("internal", "the server could not handle that message")

    def _allow(self, now: float) -> bool:
        if self.bucket.take(now):
            return True
        if now - self._rejected_since > FLOOD_WINDOW_S:
            self._rejected = 0
            self._rejected_since = now
        self._rejected += 1
        STATS.rate_limited += 1
        limit = max(self.config.message_burst, self.config.messages_per_second * 2)
        if self._rejected > limit:
            log.info("closing flooding client", extra={"session": self.id})
            self.conn.close(1008, "too many messages")
        elif now - self._last_limit_error >= 1.0:
            self._last_limit_error = now
            self.error("rate_limited", "too many messages; slow down")
        return False

    def _handle(self, data: str | bytes, now: float) -> None:
        if isinstance(data, bytes):
            if len(data) > self.config.max_message_bytes:
                return self._too_large()
            msg: protocol.ClientMessage = protocol.parse_binary(data)
        else:
            if len(data) > self.config.max_message_bytes:
                return self._too_large()
            msg = protocol.parse_text(data)
        if self.name is None:
            if not isinstance(msg, protocol.Hello):
                raise protocol.ProtocolError("not_ready", "send 'hello' first", _ref(msg))
            return self._hello(msg)
        if isinstance(msg, protocol.Input):
            return self._room("input").input(self.conn, msg.direction, now)
        if isinstance(msg, protocol.Ping):
            return self.conn.send_text(protocol.pong(msg.t))
        if isinstance(msg, protocol.Chat):
            if msg.channel == "lobby":
                return self.registry.lobby_chat(self.conn, self.name, msg.text)
            return self._room("chat").chat(self.conn, msg.text, now)
        if isinstance(msg, protocol.KeyframeRequest):
            return self._room("keyframe").request_keyframe(self.conn)
        if isinstance(msg, protocol.Start):
            return self._room("start").start(self.conn)
        if isinstance(msg, protocol.Leave):
            self._room("leave").leave(self.conn)
            self.room = None
            self.conn.send_text(protocol.left())
            return self.registry.enter_lobby(self.conn)
        if isinstance(msg, protocol.Hello):
            raise protocol.ProtocolError("bad_message", "already said hello", "hello")
        if self.room is not None and not self.room.closed:
            raise protocol.ProtocolError("bad_message", "leave this room first", _ref(msg))
        if self.registry.draining:
            raise protocol.ProtocolError("draining", "this server is shutting down", _ref(msg))
        if isinstance(msg, protocol.QuickPlay):
            return self._enter(self.registry.quick_play(msg.mode), spectate=False, quick=True)
        if isinstance(msg, protocol.Create):
            return self._enter(self.registry.create(msg.mode, msg.private), spectate=False)
        if isinstance(msg, protocol.Join):
            room = self.registry.find(msg.room)
            if room is None:
                raise protocol.ProtocolError("room_not_found", f"no room {msg.room!r}", "join")
            return self._enter(room, msg.spectate)

    def _too_large(self) -> None:
        self.error("too_large", f"messages are at most {self.config.max_message_bytes} bytes")
        self.conn.close(1009, "message too big")

    def _room(self, ref: str) -> RoomLike:
        if self.room is None or self.room.closed:
            self.room = None
            raise protocol.ProtocolError("not_in_room", "join a room first", ref)
        return self.room

    def _hello(self, msg: protocol.Hello) -> None:
        if msg.v != protocol.VERSION:
            self.error(
                "version",
                f"protocol version {msg.v} is not supported; this server speaks "
                f"v{protocol.VERSION}: reload the page",
                "hello",
            )
            self.conn.close(4000, "protocol version mismatch")
            return
        try:
            self.name = clean_name(msg.name)
        except InvalidName as exc:
            raise protocol.ProtocolError("name_invalid", str(exc), "hello") from None
        self.conn.send_text(
            protocol.welcome(self.id, self.name, self.config.tick_hz, self.config.send_hz)
        )
        held = self.registry.seat_for(msg.token) if msg.token else None
        if held is None:
            self.registry.enter_lobby(self.conn)
            if msg.token:
                self.registry.seat_elsewhere(msg.token, self.conn)
            return
        # The lobby's list and history first (as for everyone), then straight back to the seat.
        self.registry.enter_lobby(self.conn)
        self.registry.leave_lobby(self.conn)
        room, seat = held
        self.room = room
        room.resume(seat, self.conn)

    def _enter(self, room: RoomLike, spectate: bool, quick: bool = False) -> None:
        assert self.name is not None
        self.registry.leave_lobby(self.conn)
        self.room = room
        if quick:
            seat = room.quick_join(self.conn, self.name)
        else:
            seat = room.join(self.conn, self.name, spectate)
        if seat is not None:
            self.registry.register_seat(room, seat)
        log.info(
            "entered room",
            extra={"session": self.id, "room": room.code, "player": seat.id if seat else None},
        )

    def _moved(self, room: RoomLike) -> None:
        self.room = room

    def _gone(self) -> None:
        self.registry.leave_lobby(self.conn)
        if self.room is not None and not self.room.closed:
            self.room.disconnect(self.conn)
        self.room = None


def _ref(msg: protocol.ClientMessage) -> str:
    return {
        protocol.QuickPlay: "quick_play",
        protocol.Create: "create",
        protocol.Join: "join",
        protocol.KeyframeRequest: "keyframe",
    }.get(type(msg), type(msg).__name__.lower())
