"""Binary state frames (docs/protocol.md, "State frames"): keyframes and deltas, little-endian.

Built once per room per send tick from the game's view and written as the same bytes to every
connection in the room. `server.protocol` re-exports these names; together the two modules are
the whole wire format.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from server.game.view import ArenaView, Event, EventKind, PlayerRow, Snapshot, snapshot_of

KEYFRAME = 1
DELTA = 2
# Pellet events travel in the pellet section, not the event list.
PELLET_EVENTS = frozenset({EventKind.DOT_EATEN, EventKind.ENERGIZER_EATEN})

# --- state frames -----------------------------------------------------------------------------

_HEADER = struct.Struct("<BBHIBBBBH")
_PLAYER = struct.Struct("<BBBB")  # the records inside _actors_struct(), for decoding
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


_ACTOR_STRUCTS: dict[tuple[int, int], struct.Struct] = {}
_SCORE_STRUCTS: dict[int, struct.Struct] = {}  # every player's score record, by player count


def _actors_struct(n_players: int, n_ghosts: int) -> struct.Struct:
    """The header, the player records, the ghost count and the ghost records as one Struct."""
    key = (n_players, n_ghosts)
    packer = _ACTOR_STRUCTS.get(key)
    if packer is None:
        fmt = _HEADER.format + "BBBB" * n_players + "B" + "BBB" * n_ghosts
        packer = _ACTOR_STRUCTS[key] = struct.Struct(fmt)
    return packer


def _head(kind: int, seq: int, snap: Snapshot) -> bytearray:
    """Header and actors; built with one pack call because it runs every send tick."""
    players = snap.players
    ghosts = snap.ghosts
    fright = snap.fright_frames_left
    args = [
        kind,
        1 if fright > 0 else 0,
        seq & 0xFFFF,
        snap.frame & 0xFFFFFFFF,
        _u8(snap.level),
        snap.phase,
        snap.fruit,
        len(players),
        _u16(fright),
    ]
    # Positions travel as x + 16 and y - 24, clamped to a byte.
    for pid, x, y, d, st, powered, protected, _score, _lives in players:
        x += 16
        y -= 24
        args += (
            pid,
            0 if x < 0 else 255 if x > 255 else x,
            0 if y < 0 else 255 if y > 255 else y,
            d | st << 2 | powered << 4 | protected << 5,
        )
    args.append(len(ghosts))
    for _gid, x, y, d, shown in ghosts:
        x += 16
        y -= 24
        args += (
            0 if x < 0 else 255 if x > 255 else x,
            0 if y < 0 else 255 if y > 255 else y,
            d | shown << 2,
        )
    return bytearray(_actors_struct(len(players), len(ghosts)).pack(*args))


def _events(out: bytearray, events: Sequence[Event]) -> None:
    shown = [e for e in events if e.kind not in PELLET_EVENTS][:255]
    out.append(len(shown))
    for e in shown:
        out += _EVENT.pack(int(e.kind), _u8(e.player), _u8(e.other), _u16(e.value), _u16(e.points))


def encode_keyframe(seq: int, view: ArenaView, n_pellets: int, events: Sequence[Event]) -> bytes:
    """A full state frame: actors, the pellet bitmap, every score and the events."""
    snap = snapshot_of(view)
    return _keyframe(_head(KEYFRAME, seq, snap), snap, n_pellets, events)


def _keyframe(head: bytearray, snap: Snapshot, n_pellets: int, events: Sequence[Event]) -> bytes:
    """The keyframe after `head` (a header with any kind byte; it is set to KEYFRAME here)."""
    out = bytearray(head)
    out[0] = KEYFRAME
    n_bytes = (n_pellets + 7) // 8
    out.append(n_bytes)
    out += (snap.pellets & ((1 << n_pellets) - 1)).to_bytes(n_bytes, "little")
    players = snap.players
    scores = _SCORE_STRUCTS.get(len(players))
    if scores is None:
        scores = _SCORE_STRUCTS[len(players)] = struct.Struct("<" + "IB" * len(players))
    values: list[int] = []
    for p in players:
        lives = p[8]
        values += (p[7] & 0xFFFFFFFF, 0 if lives < 0 else 255 if lives > 255 else lives)
    out += scores.pack(*values)
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
    snap = snapshot_of(view)
    return _delta(seq, None, snap, snapshot_of(prev), events, sent)


def _delta(
    seq: int,
    head: bytearray | None,
    snap: Snapshot,
    prev: Snapshot,
    events: Sequence[Event],
    sent: dict[int, tuple[int, int]] | None,
) -> bytes | None:
    """`encode_delta` on snapshots; `head` is the DELTA header if the caller already built it."""
    if snap.pellets & ~prev.pellets:
        return None
    gone = prev.pellets & ~snap.pellets
    eaten: list[int] = []
    while gone:
        low = gone & -gone
        eaten.append(low.bit_length() - 1)
        gone ^= low
    if len(eaten) > 255:
        return None
    out = bytearray(head) if head is not None else _head(DELTA, seq, snap)
    out.append(len(eaten))
    for index in eaten:
        out += _U16.pack(index)
    changed: list[PlayerRow] = []
    if sent is None:
        before = {p[0]: (p[7], p[8]) for p in prev.players}
        changed = [p for p in snap.players if before.get(p[0]) != (p[7], p[8])]
    else:
        if len(sent) > len(snap.players) or not all(p[0] in sent for p in snap.players):
            for gone_id in set(sent) - {p[0] for p in snap.players}:
                del sent[gone_id]
        for p in snap.players:
            pid = p[0]
            now = (p[7], p[8])
            last = sent.get(pid)
            if last == now:
                continue
            if last is None or last[1] != now[1] or (seq + pid) % SCORE_EVERY == 0:
                changed.append(p)
                sent[pid] = now
    out.append(len(changed))
    for p in changed:
        out += _DELTA_SCORE.pack(p[0], p[7] & 0xFFFFFFFF, _u8(p[8], 0))
    _events(out, events)
    return bytes(out)


@dataclass
class StateEncoder:
    """Numbers a room's frames and remembers the last picture so deltas can be built.

    Call `next()` (with a view) or `next_snapshot()` (with `Arena.snapshot()`, cheaper: the
    same bytes) once per send tick with the events since the previous call. If the caller
    sends the keyframe to everyone, it must call `synced()` so held-back score changes are
    not counted as sent when they were.
    """

    n_pellets: int
    seq: int = 0
    prev: Snapshot | None = None
    sent: dict[int, tuple[int, int]] = field(default_factory=dict)

    def next(self, view: ArenaView, events: Sequence[Event]) -> EncodedFrame:
        return self.next_snapshot(snapshot_of(view), events)

    def next_snapshot(self, snap: Snapshot, events: Sequence[Event]) -> EncodedFrame:
        self.seq = seq = (self.seq + 1) & 0xFFFF
        head = _head(DELTA, seq, snap)
        delta = None
        if self.prev is not None:
            delta = _delta(seq, head, snap, self.prev, events, self.sent)
        self.prev = snap
        return EncodedFrame(seq, snap, tuple(events), self.n_pellets, delta, head)

    def synced(self) -> None:
        """Everyone just got a keyframe of the last view: nothing is owed any more."""
        if self.prev is not None:
            self.sent = {p[0]: (p[7], p[8]) for p in self.prev.players}


@dataclass
class EncodedFrame:
    """One send tick's output; the keyframe is built only if someone needs it, then cached."""

    seq: int
    snap: Snapshot
    events: tuple[Event, ...]
    n_pellets: int
    delta: bytes | None
    head: bytearray = field(repr=False)  # header and actors, shared by delta and keyframe
    _keyframe: bytes | None = field(default=None, repr=False)

    def keyframe(self) -> bytes:
        if self._keyframe is None:
            self._keyframe = _keyframe(self.head, self.snap, self.n_pellets, self.events)
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
