"""A room's snapshot for the bus: game state with its RNG, seats, tokens, timers and chat.

`dump()` on the owner at least once a second; `restore()` on the process that takes the room
over. Times are stored relative to the room's clock, so another process's clock can resume them.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

from server import protocol
from server.chat import ChatHistory, ChatLine
from server.config import Config
from server.game import Arena
from server.room import COUNTDOWN, OVER, WAITING, Room, Seat

# 2: the arena's pellet bits as a hex string and the RNG's state words as base64 of little-
# endian uint32s (in 1, a 240-bit JSON number and a list of 625 numbers: half the bytes and
# most of the time of every dump, and no fast JSON library writes numbers past 64 bits).
# 3: the RNG as the words drawn from the arena's seeded RNG (`rng_words`), not its state:
# getstate and the base64 of 2.5 KB were still half of a dump's time and of its bytes.
# Older versions are still read, so a rolling deploy hands rooms over from old processes to
# new ones; an old process refuses a newer version (it cannot take a room from a newer one).
VERSION = 3
READABLE = (1, 2, 3)


def dump(room: Room, epoch: int) -> bytes:
    """The room as bytes (JSON), as of its last tick."""
    now = room.now
    arena = room.arena.to_state()
    arena["pellets"] = format(arena["pellets"], "x")
    data: dict[str, Any] = {
        "v": VERSION,
        "epoch": epoch,
        "code": room.code,
        "mode": protocol.MODE_NAMES[room.mode],
        "private": room.private,
        "state": room.state,
        "game_id": room.game_id,
        "arena": arena,
        "seats": [{"id": s.id, "name": s.name, "token": s.token} for s in room.seats.values()],
        "countdown_left": max(0.0, room._countdown_end - now) if room.state == COUNTDOWN else 0,
        "over_left": max(0.0, room._over_until - now) if room.state == OVER else 0,
        "chat": [
            [line.sender, line.text, line.ts, line.system]
            for line in room.history.recent(room.chat_key)
        ],
    }
    return protocol.encode(data).encode()


def mark(room: Room, epoch: int) -> tuple[object, ...] | None:
    """What `dump()` would write, in brief, when that is cheap to know: equal marks mean equal
    snapshots. Only for a waiting room (no game steps, no timers counting down); None (always
    write) otherwise."""
    if room.state != WAITING:
        return None
    chat = room.history.recent(room.chat_key)
    return (
        epoch,
        room.arena,  # the object itself: a new arena is a new game
        room.arena.frame,
        tuple((s.id, s.name, s.token) for s in room.seats.values()),
        len(chat),
        chat[-1] if chat else None,
    )


def peek(raw: bytes) -> dict[str, Any]:
    """The decoded snapshot, its arena in `Arena.from_state()`'s form (restore, tests, tools)."""
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("v") not in READABLE:
        raise ValueError("not a room snapshot")
    if data["v"] >= 2:
        _expand(data["arena"])
    return data


def restore(
    raw: bytes,
    config: Config,
    history: ChatHistory,
    now: float,
    on_change: Callable[[Room], None],
    on_empty: Callable[[Room], None],
    on_seat_freed: Callable[[str], None],
) -> Room:
    """A live room from a snapshot; every seat is held for the reconnect grace until resumed."""
    data = peek(raw)
    room = Room(
        data["code"],
        protocol.MODES[data["mode"]],
        bool(data["private"]),
        config,
        history,
        now,
        on_change=on_change,
        on_empty=on_empty,
        on_seat_freed=on_seat_freed,
    )
    room.arena = Arena.from_state(data["arena"])
    room.maze_rows = list(room.arena.maze.rows)
    room.encoder = protocol.StateEncoder(len(room.arena.maze.pellet_tiles))
    room.arena.drain_events()  # already narrated by the previous owner
    room.game_id = str(data["game_id"])
    room.state = str(data["state"])
    room._countdown_end = now + float(data["countdown_left"])
    room._over_until = now + float(data["over_left"])
    for item in data["seats"]:
        seat = Seat(int(item["id"]), str(item["name"]), str(item["token"]), None, gone_at=now)
        room.seats[seat.id] = seat
    history.drop(room.chat_key)
    for sender, text, ts, system in data["chat"]:
        history.append(room.chat_key, ChatLine("room", sender, text, int(ts), bool(system)))
    return room


def _expand(arena: dict[str, Any]) -> None:
    """Back to `Arena.from_state()`'s forms: the pellet bits (versions 2 and 3) and the RNG's
    state words (version 2)."""
    arena["pellets"] = int(arena["pellets"], 16)
    if "rng" not in arena or not isinstance(arena["rng"][1], str):
        return
    version, words, gauss = arena["rng"]
    packed = base64.b64decode(words, validate=True)
    if len(packed) % 4:
        raise ValueError("not a room snapshot: RNG state cut short")
    arena["rng"] = [version, list(struct.unpack(f"<{len(packed) // 4}I", packed)), gauss]
