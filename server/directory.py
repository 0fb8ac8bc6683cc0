"""What every process knows of the others: their rooms, resume tokens, lobby chat, liveness.

Owners list their rooms in a presence group (all of a process's rooms refreshed every second
in one bus call, announced at creation); `Cluster` reads that mirror synchronously. Seats'
resume tokens sit in a shared hash, looked up one at a time when a player comes back to a
process that does not hold their seat (no process keeps them all: that would cost every
process a read of every player's token every second). Lobby chat travels on the lobby
channel with its history in a capped list.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from server import protocol
from server.bus import Bus, BusUnavailable, keys
from server.chat import ChatLine
from server.owner import Owner
from server.room import Room
from server.rooms import Registry

log = logging.getLogger("server.directory")

TOKENS = "cluster:tokens"  # hash: resume token -> room code
# Each process's own field in TOKENS (tokens never hold "~"): gone with the hash when Redis
# restarts empty, which tells the process to write its seats' tokens again.
MARKER = "~written-by:"
ROOM_TTL_S = 3.0
# New rooms and new seats' tokens are shared together, one batch this often: a join by code
# or a reconnect elsewhere takes longer than this, and in a burst of joins a bus call or two
# per room and per seat made joins wait for seconds.
NEWS_BATCH_S = 0.05
DEAD_AFTER_S = 5.0  # a process missing from presence this long is dead (not a bus hiccup)


class Directory:
    """Mirrors of the shared room list and tokens, and the lobby channel."""

    def __init__(self, registry: Registry, bus: Bus, proc: str) -> None:
        self.registry = registry
        self.config = registry.config
        self.bus = bus
        self.proc = proc
        self.remote: dict[str, dict[str, Any]] = {}  # code -> summary of rooms run elsewhere
        self._counted_at: dict[str, tuple[int, float]] = {}  # code -> (players, since when)
        self._missing: dict[str, float] = {}  # process -> when first seen missing
        self._listed: dict[str, tuple[object, bytes]] = {}  # code -> (summary, its JSON)
        self._read: dict[str, tuple[bytes, dict[str, Any]]] = {}  # code -> (JSON read, decoded)
        # What the next batch of news shares: new seats' tokens, new rooms.
        self._tokens_out: dict[str, str] = {}
        self._rooms_out: dict[str, Room] = {}
        self._news_due = False

    async def announce(self, room: Room) -> None:
        """Make a new room findable everywhere now (with the next batch of news), not at the
        next directory refresh."""
        self._rooms_out[room.code] = room
        await self._send_news()

    async def refresh(self, owners: Mapping[str, Owner]) -> None:
        """Presence of this process and its rooms written; other rooms and tokens read back."""
        await self.bus.presence_set(keys.PROCESSES, self.proc, ROOM_TTL_S)
        await self._drop_dead_processes(owners)
        listing = {code: self._info(owner.room) for code, owner in list(owners.items())}
        self._listed = {code: self._listed[code] for code in listing}
        if listing:
            await self.bus.presence_set_many(keys.LOBBY_ROOMS, listing, ROOM_TTL_S)
        listed = await self.bus.presence_list(keys.LOBBY_ROOMS)
        read: dict[str, tuple[bytes, dict[str, Any]]] = {}
        for code, raw in listed.items():
            if code in owners:
                continue
            # Most rooms' entries are as they were a second ago: decode only those that changed
            # (decoding them all was most of a refresh: 38 ms of CPU with 5,000 rooms listed).
            before = self._read.get(code)
            if before is not None and before[0] == raw:
                read[code] = before
                continue
            with contextlib.suppress(ValueError, KeyError):
                read[code] = (raw, json.loads(raw))
        self._read = read
        self._set_remote({code: info for code, (_, info) in read.items()})
        if await self.bus.hget(TOKENS, self._marker) is None:
            # The first refresh, or Redis restarted empty: our seats' tokens, all of them again.
            ours = {self._marker: b"1"}
            for code, owner in owners.items():
                ours.update((seat.token, code.encode()) for seat in owner.room.seats.values())
            await self.bus.hset(TOKENS, ours)

    @property
    def _marker(self) -> str:
        return MARKER + self.proc

    async def room_of(self, token: str) -> str | None:
        """The room holding the seat of `token`, wherever it runs; None if unknown (or the bus
        cannot say)."""
        try:
            code = await self.bus.hget(TOKENS, token)
        except BusUnavailable:
            return None
        return None if code is None else code.decode()

    async def leave(self) -> None:
        """This process is stopping: its marker goes (its seats' tokens go with their rooms)."""
        with contextlib.suppress(BusUnavailable):
            await self.bus.hdel(TOKENS, self._marker)

    def _info(self, room: Room) -> bytes:
        """The room's entry in the lobby presence group (made again only when it changed)."""
        summary = (room.summary(), room.private)
        listed = self._listed.get(room.code)
        if listed is None or listed[0] != summary:
            listed = self._listed[room.code] = (summary, _summary(*summary, self.proc))
        return listed[1]

    async def _drop_dead_processes(self, owners: Mapping[str, Owner]) -> None:
        alive = set(await self.bus.presence_list(keys.PROCESSES))
        now = time.monotonic()
        seen = {a.partition("/")[0] for o in owners.values() for a in o.stubs}
        for proc in seen - alive:
            self._missing.setdefault(proc, now)
        for proc in list(self._missing):
            if proc in alive or proc not in seen:
                del self._missing[proc]
        dead = {p for p, since in self._missing.items() if now - since >= DEAD_AFTER_S}
        if dead:
            log.info("relayed players of dead processes dropped", extra={"procs": sorted(dead)})
            for owner in owners.values():
                owner.drop_dead(dead)

    def steady_for(self, code: str) -> float:
        """Seconds since another process's room last changed its player count (as seen here)."""
        counted = self._counted_at.get(code)
        return time.monotonic() - counted[1] if counted is not None else 0.0

    def seat_sent(self, code: str) -> None:
        """A quick-play seat went to another process's room: its count here is one behind,
        and it has changed now (the next refresh shows the owner's own count again)."""
        players, _ = self._counted_at.get(code, (0, 0.0))
        self._counted_at[code] = (players + 1, time.monotonic())

    def _set_remote(self, remote: dict[str, dict[str, Any]]) -> None:
        changed = remote != self.remote
        self.remote = remote
        now = time.monotonic()
        counted = {}
        for code, info in remote.items():
            players = int(info.get("players", 0))
            before = self._counted_at.get(code)
            same = before is not None and before[0] == players
            counted[code] = before if same and before is not None else (players, now)
        self._counted_at = counted
        if changed:
            self.registry.remote_summaries = [
                protocol.RoomSummary(
                    code,
                    protocol.MODES[i["mode"]],
                    int(i["players"]),
                    int(i["max"]),
                    int(i["spectators"]),
                    str(i["state"]),
                )
                for code, i in remote.items()
                if not i["private"]
            ]
            self.registry.mark_list_dirty()

    async def publish_token(self, token: str, code: str) -> None:
        """Share a new seat's resume token (with the next batch of news)."""
        self._tokens_out[token] = code
        await self._send_news()

    async def _send_news(self) -> None:
        """Send what was queued in the last NEWS_BATCH_S: one hash write for the tokens, one
        presence write and one lobby message for the rooms."""
        if self._news_due:
            return  # the call that started this batch sends it
        self._news_due = True
        try:
            await asyncio.sleep(NEWS_BATCH_S)
        finally:
            self._news_due = False
        tokens, self._tokens_out = self._tokens_out, {}
        # a room closed meanwhile is not shared: it would be listed until its presence lapsed
        rooms = {code: room for code, room in self._rooms_out.items() if not room.closed}
        self._rooms_out = {}
        infos = {code: self._info(room) for code, room in rooms.items()}
        with contextlib.suppress(BusUnavailable):
            if tokens:
                await self.bus.hset(TOKENS, {t: c.encode() for t, c in tokens.items()})
            if infos:
                await self.bus.presence_set_many(keys.LOBBY_ROOMS, infos, ROOM_TTL_S)
                rooms_out = {code: json.loads(info) for code, info in infos.items()}
                body = {"k": "news", "rooms": rooms_out}
                await self.bus.publish(keys.LOBBY_CHANNEL, json.dumps(body).encode())

    async def forget_tokens(self, tokens: list[str]) -> None:
        for token in tokens:
            self._tokens_out.pop(token, None)  # a seat freed before its token went out
        if tokens:
            with contextlib.suppress(BusUnavailable):
                await self.bus.hdel(TOKENS, *tokens)

    async def publish_lobby(self, line: ChatLine) -> None:
        body = json.dumps({"k": "chat", "line": line.to_wire()}).encode()
        try:
            await self.bus.list_push(keys.room_chat("lobby"), body, self.config.chat_history)
            await self.bus.publish(keys.LOBBY_CHANNEL, body)
        except BusUnavailable:
            self.registry.post_lobby(line)  # at least this process's lobby hears it

    async def load_lobby_history(self) -> None:
        rows = await self.bus.list_range(keys.room_chat("lobby"), 0, self.config.chat_history - 1)
        for row in reversed(rows):
            with contextlib.suppress(ValueError, KeyError):
                self.registry.history.append("lobby", _line(json.loads(row)["line"]))

    def on_lobby(self, data: bytes) -> None:
        msg = json.loads(data)
        kind = msg.get("k")
        if kind == "chat":
            self.registry.post_lobby(_line(msg["line"]))
            return
        # "news" batches; "room" comes from processes of older releases (as do "token" and
        # "tokens", not needed: tokens are looked up in the hash)
        rooms = msg.get("rooms", {}) if kind == "news" else {}
        if kind == "room":
            rooms = {msg["room"]: msg["info"]}
        new = {str(c): dict(i) for c, i in rooms.items() if c not in self.registry.rooms}
        if new:
            self._set_remote({**self.remote, **new})


def _summary(s: protocol.RoomSummary, private: bool, proc: str) -> bytes:
    info = {
        "mode": protocol.MODE_NAMES[s.mode],
        "players": s.players,
        "max": s.max,
        "spectators": s.spectators,
        "state": s.state,
        "private": private,
        "owner": proc,
    }
    return json.dumps(info).encode()


def _line(wire: dict[str, Any]) -> ChatLine:
    return ChatLine(
        str(wire["channel"]),
        wire.get("from"),
        str(wire["text"]),
        int(wire["ts"]),
        bool(wire["system"]),
    )
