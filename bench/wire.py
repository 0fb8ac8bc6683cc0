"""The client side of protocol v1 that the load bots need, written from docs/protocol.md.

The bots do not import `server.protocol` on purpose: like the browser client, they are a second,
independent reading of the wire contract, so a server that drifts from the document fails here.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

# Websocket opcodes (RFC 6455).
OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

KEYFRAME = 1
DELTA = 2
INTENT = 0x10
PHASE_PLAYING = 1
PHASE_GAME_OVER = 5

# Direction numbers on the wire, clockwise from right, and their unit steps in tiles.
RIGHT, DOWN, LEFT, UP = 0, 1, 2, 3
DIR_NAMES = ("right", "down", "left", "up")
STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))

_HEADER = struct.Struct("<BBHIBBBBH")
HEADER_SIZE = _HEADER.size  # 14
_WALKABLE = frozenset(" .oT")


def handshake_request(host: str, port: int, path: str, key: bytes, origin: str) -> bytes:
    """The HTTP upgrade request; no extensions offered, so frames arrive uncompressed."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(key).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def encode_client_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One masked, final client frame (clients must mask; servers reject unmasked frames)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    if n == 0:
        return head + mask
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
    return head + mask + masked


def encode_intent(direction: int) -> bytes:
    """The two-byte binary intent payload."""
    return bytes((INTENT, direction))


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The fixed part of a state frame."""

    kind: int
    flags: int
    seq: int
    frame: int
    level: int
    phase: int
    fruit: int
    n_players: int
    fright_left: int


def parse_header(data: bytes) -> FrameHeader:
    """Decode the 14-byte header of a binary state frame."""
    return FrameHeader(*_HEADER.unpack_from(data, 0))


def own_record(data: bytes, you: int) -> tuple[int, int, int, int] | None:
    """(x, y, direction, state) of player `you` in a state frame, or None if absent."""
    n = data[11]
    off = HEADER_SIZE
    for _ in range(n):
        if data[off] == you:
            bits = data[off + 3]
            return data[off + 1] - 16, data[off + 2] + 24, bits & 3, (bits >> 2) & 3
        off += 4
    return None


def keyframe_pellets(data: bytes) -> int | None:
    """The pellet bitmap of a keyframe as an int (bit i = pellet i there); None if malformed."""
    off = HEADER_SIZE + 4 * data[11]
    if off >= len(data):
        return None
    off += 1 + 3 * data[off]
    if off >= len(data):
        return None
    n_bytes = data[off]
    bitmap = data[off + 1 : off + 1 + n_bytes]
    if len(bitmap) != n_bytes:
        return None
    return int.from_bytes(bitmap, "little")


class Maze:
    """The walkable tiles and pellet positions of a maze as sent in `joined.maze`."""

    def __init__(self, rows: list[str]) -> None:
        self.height = len(rows)
        self.width = max((len(r) for r in rows), default=0)
        self.open: set[tuple[int, int]] = set()
        self.pellet_index: dict[tuple[int, int], int] = {}
        for ty, row in enumerate(rows):
            for tx, ch in enumerate(row):
                if ch in _WALKABLE:
                    self.open.add((tx, ty))
                if ch in ".o":
                    self.pellet_index[(tx, ty)] = len(self.pellet_index)

    def exits(self, tile: tuple[int, int]) -> list[int]:
        """Directions that lead from `tile` to a walkable tile."""
        tx, ty = tile
        return [d for d, (dx, dy) in enumerate(STEPS) if (tx + dx, ty + dy) in self.open]

    def pellets_ahead(self, tile: tuple[int, int], direction: int, pellets: int, reach: int) -> int:
        """How many pellets lie in a straight line from `tile` before a wall (up to `reach`)."""
        dx, dy = STEPS[direction]
        tx, ty = tile
        found = 0
        for _ in range(reach):
            tx, ty = tx + dx, ty + dy
            if (tx, ty) not in self.open:
                break
            index = self.pellet_index.get((tx, ty))
            if index is not None and pellets >> index & 1:
                found += 1
        return found
