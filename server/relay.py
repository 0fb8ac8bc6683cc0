"""The relay's wire: what the owner of a room and the other processes say over the bus.

Room channel (owner -> every process with players in the room), one bus message each:
  b"F" + header + delta + keyframe   one state frame per send tick (ONE message per room)
  b"T" + JSON                        a text for every relayed peer, or for one (`to`), or a close
Intent channel (any process -> the owner): JSON with `op`, `proc`, `conn` and the arguments.
Every owner message carries the owner's lease epoch, so frames of a stale owner are ignored.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.chat import ChatLimiter

FRAME, TEXT = b"F", b"T"
_HEADER = struct.Struct("!QIBI")  # epoch, publish seq, flags, delta length
EVERYONE_KEYFRAME, HAS_KEYFRAME = 1, 2


@dataclass(frozen=True, slots=True)
class RelayedFrame:
    """A state frame as it travels between processes."""

    epoch: int
    seq: int
    everyone_keyframe: bool
    delta: bytes | None  # websocket-ready bytes
    keyframe: bytes | None  # websocket-ready bytes


@dataclass(frozen=True, slots=True)
class RelayedText:
    """A text message (or a close) for relayed peers: all of them when `to` is empty."""

    epoch: int
    text: str = ""
    to: str = ""  # "<proc>/<conn>"
    close: tuple[int, str] | None = None
    # "handover", "closed" or "owner": about the room itself; "full": quick play's seat for
    # the peer `to` was gone (the mode's name in `text`)
    event: str = ""


def encode_frame(frame: RelayedFrame) -> bytes:
    flags = (EVERYONE_KEYFRAME if frame.everyone_keyframe else 0) | (
        HAS_KEYFRAME if frame.keyframe is not None else 0
    )
    delta = frame.delta or b""
    head = _HEADER.pack(frame.epoch, frame.seq & 0xFFFFFFFF, flags, len(delta))
    return FRAME + head + delta + (frame.keyframe or b"")


def encode_text(text: RelayedText) -> bytes:
    body: dict[str, Any] = {"e": text.epoch}
    if text.text:
        body["t"] = text.text
    if text.to:
        body["to"] = text.to
    if text.close is not None:
        body["close"] = list(text.close)
    if text.event:
        body["ev"] = text.event
    return TEXT + json.dumps(body, separators=(",", ":")).encode()


def decode(data: bytes) -> RelayedFrame | RelayedText:
    """Read a room-channel message; raises ValueError on anything else."""
    kind, body = data[:1], data[1:]
    if kind == FRAME:
        if len(body) < _HEADER.size:
            raise ValueError("short relayed frame")
        epoch, seq, flags, n = _HEADER.unpack_from(body)
        rest = body[_HEADER.size :]
        if len(rest) < n:
            raise ValueError("truncated relayed frame")
        delta = rest[:n] if n else None
        keyframe = rest[n:] if flags & HAS_KEYFRAME else None
        return RelayedFrame(epoch, seq, bool(flags & EVERYONE_KEYFRAME), delta, keyframe)
    if kind == TEXT:
        msg = json.loads(body)
        if not isinstance(msg, dict):
            raise ValueError("relayed text is not an object")
        close = msg.get("close")
        return RelayedText(
            int(msg["e"]),
            str(msg.get("t", "")),
            str(msg.get("to", "")),
            (int(close[0]), str(close[1])) if close else None,
            str(msg.get("ev", "")),
        )
    raise ValueError(f"unknown relayed message kind {kind!r}")


def encode_intent(op: str, proc: str, conn: str, **args: Any) -> bytes:
    return json.dumps({"op": op, "proc": proc, "conn": conn, **args}).encode()


def decode_intent(data: bytes) -> dict[str, Any]:
    msg = json.loads(data)
    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
        raise ValueError("not an intent")
    return msg


class RemotePeer:
    """A player connected to another process, as the owner's room sees it.

    Texts and closes meant for it alone travel on the room channel addressed to it; broadcasts
    and state frames do not come through here (the owner publishes those once per room).
    """

    def __init__(
        self, address: str, limiter: ChatLimiter, send: Callable[[RelayedText], None]
    ) -> None:
        self.address = address
        self.owes_keyframe = True
        self.chat_limiter = limiter
        self._send = send

    def send_text(self, data: str) -> None:
        self._send(RelayedText(0, text=data, to=self.address))

    def send_state(self, frame: bytes) -> bool:
        return False  # frames reach relayed peers through their own process

    def close(self, code: int, reason: str) -> None:
        self._send(RelayedText(0, to=self.address, close=(code, reason)))
