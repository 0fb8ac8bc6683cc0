"""The wire format (docs/protocol.md, v1): the only module that parses or encodes messages.

Client text frames become typed messages (or a `ProtocolError` carrying the error code the
client should see) and server messages are encoded to JSON text here; the binary state frames
live in `server.frames` and are re-exported below, so callers need only this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server import frames
from server.game.view import Direction, Mode

# The binary half of the wire format, re-exported so callers need only this module.
DELTA = frames.DELTA
KEYFRAME = frames.KEYFRAME
PELLET_EVENTS = frames.PELLET_EVENTS
SCORE_EVERY = frames.SCORE_EVERY
DecodedFrame = frames.DecodedFrame
DecodedPlayer = frames.DecodedPlayer
EncodedFrame = frames.EncodedFrame
StateEncoder = frames.StateEncoder
decode_state = frames.decode_state
encode_delta = frames.encode_delta
encode_keyframe = frames.encode_keyframe
ws_binary_frame = frames.ws_binary_frame

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
        # Refuse what orjson refuses, so both parsers give a client the same answer: deep
        # nesting (RecursionError here), NaN/Infinity and numbers too big for a double.
        try:
            return json.loads(data, parse_float=_finite, parse_constant=_no_constant)
        except RecursionError:
            raise ValueError("too deeply nested") from None

    def _finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("number out of range")
        return value

    def _no_constant(text: str) -> Any:
        raise ValueError(f"{text} is not JSON")


VERSION = 1
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
