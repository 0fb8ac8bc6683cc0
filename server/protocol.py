"""The wire format (docs/protocol.md, v1): the only module that parses or encodes messages.

Client text frames become typed messages (or a `ProtocolError` carrying the error code the
client should see); server messages are encoded to JSON text; game state is packed into the
binary keyframe/delta layout, built once per room per send tick.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.game.view import (
    ArenaView,
    Direction,
    Event,
    EventKind,
    Mode,
)

try:  # orjson is an optional speed-up; stdlib json is the fallback.
    import orjson

    def _dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode()

    def _loads(data: str) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - depends on the installed extras

    def _dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    def _loads(data: str) -> Any:
        return json.loads(data)


VERSION = 1
KEYFRAME = 1
DELTA = 2
INTENT = 0x10

DIRECTIONS: Mapping[str, Direction] = {
    "right": Direction.RIGHT,
    "down": Direction.DOWN,
    "left": Direction.LEFT,
    "up": Direction.UP,
}
MODES: Mapping[str, Mode] = {"arena": Mode.ARENA, "classic": Mode.CLASSIC}
MODE_NAMES: Mapping[Mode, str] = {mode: name for name, mode in MODES.items()}
CHANNELS = ("lobby", "room")
# Pellet events travel in the pellet section, not the event list.
PELLET_EVENTS = frozenset({EventKind.DOT_EATEN, EventKind.ENERGIZER_EATEN})


class ProtocolError(Exception):
    """A client frame the server refuses; `code` is the wire error code."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# --- client -> server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    v: int
    name: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class QuickPlay:
    mode: Mode = Mode.ARENA


@dataclass(frozen=True, slots=True)
class Create:
    mode: Mode
    private: bool = False


@dataclass(frozen=True, slots=True)
class Join:
    room: str
    spectate: bool = False


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Start:
    pass


@dataclass(frozen=True, slots=True)
class Input:
    direction: Direction


@dataclass(frozen=True, slots=True)
class Chat:
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class KeyframeRequest:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    t: float | int | None = None


ClientMessage = (
    Hello | QuickPlay | Create | Join | Leave | Start | Input | Chat | KeyframeRequest | Ping
)


def _field(msg: Mapping[str, Any], key: str, kind: type | tuple[type, ...], ref: str) -> Any:
    value = msg.get(key)
    # bool is an int subclass; a JSON true is never a number here.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError("bad_message", f"'{ref}' needs '{key}' of the right type", ref)
    return value


def _optional(msg: Mapping[str, Any], key: str, kind: type, default: Any, ref: str) -> Any:
    if msg.get(key) is None:
        return default
    return _field(msg, key, kind, ref)


def _mode(msg: Mapping[str, Any], ref: str, default: Mode | None) -> Mode:
    raw = msg.get("mode")
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str) or raw not in MODES:
        raise ProtocolError("bad_message", f"'{ref}' needs mode 'arena' or 'classic'", ref)
    return MODES[raw]


def parse_text(data: str) -> ClientMessage:
    """Parse one client text frame, or raise `ProtocolError` with the code to send back."""
    try:
        msg = _loads(data)
    except ValueError:
        raise ProtocolError("bad_json", "the message is not valid JSON") from None
    if not isinstance(msg, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object with a 'type'")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "a message needs a string 'type'")
    if kind == "hello":
        return Hello(
            v=_field(msg, "v", int, kind),
            name=_field(msg, "name", str, kind),
            token=_optional(msg, "token", str, None, kind),
        )
    if kind == "quick_play":
        return QuickPlay(_mode(msg, kind, Mode.ARENA))
    if kind == "create":
        return Create(_mode(msg, kind, None), _optional(msg, "private", bool, False, kind))
    if kind == "join":
        room = _field(msg, "room", str, kind)
        return Join(room.strip().upper()[:16], _optional(msg, "spectate", bool, False, kind))
    if kind == "leave":
        return Leave()
    if kind == "start":
        return Start()
    if kind == "input":
        raw = msg.get("dir")
        if not isinstance(raw, str) or raw not in DIRECTIONS:
            raise ProtocolError("bad_message", "'input' needs dir up, down, left or right", kind)
        return Input(DIRECTIONS[raw])
    if kind == "chat":
        channel = _field(msg, "channel", str, kind)
        if channel not in CHANNELS:
            raise ProtocolError("bad_message", "'chat' channel must be 'lobby' or 'room'", kind)
        return Chat(channel, _field(msg, "text", str, kind))
    if kind == "keyframe":
        return KeyframeRequest()
    if kind == "ping":
        return Ping(_optional(msg, "t", (int, float), None, kind))  # type: ignore[arg-type]
    shown = kind[:32]
    raise ProtocolError("unknown_type", f"unknown message type {shown!r}", shown)


def parse_binary(data: bytes) -> Input:
    """Parse the only binary client frame: the two-byte direction intent."""
    if len(data) != 2 or data[0] != INTENT or data[1] > 3:
        raise ProtocolError("bad_message", "binary frames must be 0x10 then a direction 0-3")
    return Input(Direction(data[1]))


def encode_intent(direction: Direction) -> bytes:
    """The client's binary intent (used by tests and tools that act as clients)."""
    return bytes((INTENT, int(direction)))


# --- server -> client JSON --------------------------------------------------------------------


def encode(msg: Mapping[str, Any]) -> str:
    """Encode one server message (a dict with a 'type') as a JSON text frame."""
    return _dumps(msg)


def decode(data: str) -> dict[str, Any]:
    """Decode a server JSON message (clients and tests)."""
    value = _loads(data)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def welcome(session: str, name: str, tick_hz: int, send_hz: int) -> str:
    return encode(
        {
            "type": "welcome",
            "v": VERSION,
            "session": session,
            "name": name,
            "tick_hz": tick_hz,
            "send_hz": send_hz,
        }
    )


@dataclass(frozen=True, slots=True)
class RoomSummary:
    code: str
    mode: Mode
    players: int
    max: int
    spectators: int
    state: str


def rooms(summaries: Iterable[RoomSummary]) -> str:
    return encode(
        {
            "type": "rooms",
            "rooms": [
                {
                    "code": s.code,
                    "mode": MODE_NAMES[s.mode],
                    "players": s.players,
                    "max": s.max,
                    "spectators": s.spectators,
                    "state": s.state,
                }
                for s in summaries
            ],
        }
    )


def joined(
    room: str, mode: Mode, you: int | None, token: str | None, maze: Sequence[str], state: str
) -> str:
    return encode(
        {
            "type": "joined",
            "room": room,
            "mode": MODE_NAMES[mode],
            "you": you,
            "token": token,
            "link": f"/?room={room}",
            "maze": list(maze),
            "state": state,
        }
    )


def roster(players: Iterable[tuple[int, str, bool]], spectators: int) -> str:
    return encode(
        {
            "type": "roster",
            "players": [{"id": i, "name": n, "connected": c} for i, n, c in players],
            "spectators": spectators,
        }
    )


def room_state(state: str, countdown: int | None = None) -> str:
    msg: dict[str, Any] = {"type": "room_state", "state": state}
    if countdown is not None:
        msg["countdown"] = countdown
    return encode(msg)


def game_over(winner: int | None, scores: Iterable[tuple[int, str, int]]) -> str:
    ranked = sorted(scores, key=lambda s: (-s[2], s[0]))
    return encode(
        {
            "type": "game_over",
            "winner": winner,
            "scores": [{"id": i, "name": n, "score": sc} for i, n, sc in ranked],
        }
    )


def chat_line(line: Mapping[str, Any]) -> str:
    return encode({"type": "chat", **line})


def history(channel: str, lines: Iterable[Mapping[str, Any]]) -> str:
    return encode({"type": "history", "channel": channel, "lines": list(lines)})


def left() -> str:
    return encode({"type": "left"})


def reconnect(reason: str = "draining") -> str:
    return encode({"type": "reconnect", "reason": reason})


def pong(t: float | int | None) -> str:
    return encode({"type": "pong", "t": t})


def error(code: str, message: str, ref: str | None = None) -> str:
    msg: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        msg["ref"] = ref
    return encode(msg)


# --- state frames -----------------------------------------------------------------------------

_HEADER = struct.Struct("<BBHIBBBBH")
_PLAYER = struct.Struct("<BBBB")
_GHOST = struct.Struct("<BBB")
_SCORE = struct.Struct("<IB")
_DELTA_SCORE = struct.Struct("<BIB")
_EVENT = struct.Struct("<BBBHH")
_U16 = struct.Struct("<H")


def _u8(value: int | None, none: int = 255) -> int:
    if value is None:
        return none
    return min(max(value, 0), 255)


def _u16(value: int) -> int:
    return min(max(value, 0), 0xFFFF)


def _head(kind: int, seq: int, view: ArenaView) -> bytearray:
    out = bytearray(
        _HEADER.pack(
            kind,
            1 if view.fright_frames_left > 0 else 0,
            seq & 0xFFFF,
            view.frame & 0xFFFFFFFF,
            _u8(view.level),
            int(view.phase),
            int(view.fruit),
            len(view.players),
            _u16(view.fright_frames_left),
        )
    )
    for p in view.players:
        bits = int(p.direction) | int(p.state) << 2 | int(p.powered) << 4 | int(p.protected) << 5
        out += _PLAYER.pack(p.id, _u8(p.x + 16, 0), _u8(p.y - 24, 0), bits)
    out.append(len(view.ghosts))
    for g in view.ghosts:
        out += _GHOST.pack(_u8(g.x + 16, 0), _u8(g.y - 24, 0), int(g.direction) | int(g.look) << 2)
    return out


def _events(out: bytearray, events: Sequence[Event]) -> None:
    shown = [e for e in events if e.kind not in PELLET_EVENTS][:255]
    out.append(len(shown))
    for e in shown:
        out += _EVENT.pack(int(e.kind), _u8(e.player), _u8(e.other), _u16(e.value), _u16(e.points))


def encode_keyframe(seq: int, view: ArenaView, n_pellets: int, events: Sequence[Event]) -> bytes:
    """A full state frame: actors, the pellet bitmap, every score and the events."""
    out = _head(KEYFRAME, seq, view)
    n_bytes = (n_pellets + 7) // 8
    out.append(n_bytes)
    out += (view.pellets & ((1 << n_pellets) - 1)).to_bytes(n_bytes, "little")
    for p in view.players:
        out += _SCORE.pack(p.score & 0xFFFFFFFF, _u8(p.lives, 0))
    _events(out, events)
    return bytes(out)


SCORE_EVERY = 10  # a changed score waits at most SCORE_EVERY - 1 frames (450 ms); lives never wait


def encode_delta(
    seq: int,
    view: ArenaView,
    prev: ArenaView,
    events: Sequence[Event],
    sent: dict[int, tuple[int, int]] | None = None,
) -> bytes | None:
    """A frame relative to `prev` (the frame `seq - 1`), or None if only a keyframe can say it.

    Pellets coming back (a new level) and more than 255 pellets eaten at once need a keyframe.
    `sent` holds each player's (score, lives) as last sent and is updated. Score records are
    absolute, so to save bytes a player whose only change is its score is sent on its turn
    (every SCORE_EVERY frames, staggered by id); a lives change goes out at once. Without
    `sent`, every change relative to `prev` is sent.
    """
    if view.pellets & ~prev.pellets:
        return None
    gone = prev.pellets & ~view.pellets
    eaten: list[int] = []
    while gone:
        low = gone & -gone
        eaten.append(low.bit_length() - 1)
        gone ^= low
    if len(eaten) > 255:
        return None
    out = _head(DELTA, seq, view)
    out.append(len(eaten))
    for index in eaten:
        out += _U16.pack(index)
    if sent is None:
        before = {p.id: (p.score, p.lives) for p in prev.players}
        changed = [p for p in view.players if before.get(p.id) != (p.score, p.lives)]
    else:
        for gone_id in set(sent) - {p.id for p in view.players}:
            del sent[gone_id]
        changed = []
        for p in view.players:
            last = sent.get(p.id)
            if last == (p.score, p.lives):
                continue
            if last is None or last[1] != p.lives or (seq + p.id) % SCORE_EVERY == 0:
                changed.append(p)
                sent[p.id] = (p.score, p.lives)
    out.append(len(changed))
    for p in changed:
        out += _DELTA_SCORE.pack(p.id, p.score & 0xFFFFFFFF, _u8(p.lives, 0))
    _events(out, events)
    return bytes(out)


@dataclass
class StateEncoder:
    """Numbers a room's frames and remembers the last view so deltas can be built.

    Call `next()` once per send tick with the view and the events since the previous call.
    If the caller sends the keyframe to everyone, it must call `synced()` so held-back score
    changes are not counted as sent when they were.
    """

    n_pellets: int
    seq: int = 0
    prev: ArenaView | None = None
    sent: dict[int, tuple[int, int]] = field(default_factory=dict)

    def next(self, view: ArenaView, events: Sequence[Event]) -> EncodedFrame:
        self.seq = (self.seq + 1) & 0xFFFF
        delta = None
        if self.prev is not None:
            delta = encode_delta(self.seq, view, self.prev, events, self.sent)
        self.prev = view
        return EncodedFrame(self.seq, view, tuple(events), self.n_pellets, delta)

    def synced(self) -> None:
        """Everyone just got a keyframe of the last view: nothing is owed any more."""
        if self.prev is not None:
            self.sent = {p.id: (p.score, p.lives) for p in self.prev.players}


@dataclass
class EncodedFrame:
    """One send tick's output; the keyframe is built only if someone needs it, then cached."""

    seq: int
    view: ArenaView
    events: tuple[Event, ...]
    n_pellets: int
    delta: bytes | None
    _keyframe: bytes | None = field(default=None, repr=False)

    def keyframe(self) -> bytes:
        if self._keyframe is None:
            self._keyframe = encode_keyframe(self.seq, self.view, self.n_pellets, self.events)
        return self._keyframe


# --- decoding state frames (the browser's job; here for tests and tools) ------------------------


@dataclass
class DecodedPlayer:
    id: int
    x: int
    y: int
    direction: int
    state: int
    powered: bool
    protected: bool


@dataclass
class DecodedFrame:
    kind: int
    fright: bool
    seq: int
    frame: int
    level: int
    phase: int
    fruit: int
    fright_left: int
    players: list[DecodedPlayer]
    ghosts: list[tuple[int, int, int, int]]  # x, y, direction, look
    pellets: int | None = None  # keyframe: the bitmap as an int
    eaten: list[int] = field(default_factory=list)  # delta: pellet indices
    scores: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (score, lives)
    events: list[tuple[int, int | None, int | None, int, int]] = field(default_factory=list)


def decode_state(data: bytes) -> DecodedFrame:
    """Decode a binary state frame; raises ValueError (or struct.error) if it is malformed."""
    kind, flags, seq, frame, level, phase, fruit, n_players, fright_left = _HEADER.unpack_from(
        data, 0
    )
    if kind not in (KEYFRAME, DELTA):
        raise ValueError(f"unknown frame kind {kind}")
    at = _HEADER.size
    players = []
    for _ in range(n_players):
        pid, x, y, bits = _PLAYER.unpack_from(data, at)
        at += _PLAYER.size
        players.append(
            DecodedPlayer(
                pid, x - 16, y + 24, bits & 3, (bits >> 2) & 3, bool(bits & 16), bool(bits & 32)
            )
        )
    n_ghosts = data[at]
    at += 1
    ghosts = []
    for _ in range(n_ghosts):
        x, y, bits = _GHOST.unpack_from(data, at)
        at += _GHOST.size
        ghosts.append((x - 16, y + 24, bits & 3, (bits >> 2) & 7))
    out = DecodedFrame(
        kind, bool(flags & 1), seq, frame, level, phase, fruit, fright_left, players, ghosts
    )
    if kind == KEYFRAME:
        n_bytes = data[at]
        at += 1
        out.pellets = int.from_bytes(data[at : at + n_bytes], "little")
        at += n_bytes
        for p in players:
            score, lives = _SCORE.unpack_from(data, at)
            at += _SCORE.size
            out.scores[p.id] = (score, lives)
    else:
        n_eaten = data[at]
        at += 1
        for _ in range(n_eaten):
            out.eaten.append(_U16.unpack_from(data, at)[0])
            at += 2
        n_scores = data[at]
        at += 1
        for _ in range(n_scores):
            pid, score, lives = _DELTA_SCORE.unpack_from(data, at)
            at += _DELTA_SCORE.size
            out.scores[pid] = (score, lives)
    n_events = data[at]
    at += 1
    for _ in range(n_events):
        ek, player, other, value, points = _EVENT.unpack_from(data, at)
        at += _EVENT.size
        out.events.append(
            (ek, None if player == 255 else player, None if other == 255 else other, value, points)
        )
    if at != len(data):
        raise ValueError(f"{len(data) - at} trailing bytes")
    return out


def ws_binary_frame(payload: bytes) -> bytes:
    """Wrap `payload` in one unmasked websocket binary frame (server side, no extensions).

    Built once per room per send tick and written as-is to every connection's transport.
    """
    n = len(payload)
    if n < 126:
        head = bytes((0x82, n))
    elif n < 65536:
        head = bytes((0x82, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x82, 127)) + n.to_bytes(8, "big")
    return head + payload
