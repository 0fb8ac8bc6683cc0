"""Binary state frames (docs/protocol.md, "State frames"): keyframes and deltas, little-endian.

Built once per room per send tick from the game's view and written as the same bytes to every
connection in the room. `server.protocol` re-exports these names; together the two modules are
the whole wire format.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from server.game.view import ArenaView, Event, EventKind

KEYFRAME = 1
DELTA = 2
# Pellet events travel in the pellet section, not the event list.
PELLET_EVENTS = frozenset({EventKind.DOT_EATEN, EventKind.ENERGIZER_EATEN})

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
