"""What this process shares with the others: the bus and everything built on it.

In memory mode (no REDIS_URL) the bus is in-process, the directory is the local `Registry`, and
leaderboards and analytics still work for this one process. With REDIS_URL the directory is a
`Cluster`. Also keeps the players-online presence fresh and serves /api/leaderboard, /api/stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from typing import Any

from websockets.http11 import Response

from server import http
from server.analytics.events import EventLog
from server.bus import Bus, BusUnavailable, open_bus
from server.cluster import Cluster
from server.config import Config
from server.leaderboard import Leaderboard
from server.records import Recorder
from server.rooms import Registry, RoomDirectory

log = logging.getLogger("server.shared")

PRESENCE_S = 20.0  # refresh every player's presence this often (their TTL is three times that)
PRESENCE_CHECK_S = 1.0  # arrivals, room changes and departures are written this soon
CLOSE_BUDGET_S = 2.0  # shutdown: how long to try marking players offline on a slow bus


def instance_id(config: Config) -> str:
    """This process's name on the bus: INSTANCE_ID, else host, pid and a random suffix."""
    if config.instance_id:
        return config.instance_id
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class Shared:
    """The bus, the leaderboard, the event log and (with Redis) the cluster directory."""

    def __init__(
        self, config: Config, registry: Registry, sessions: Callable[[], Iterable[Any]]
    ) -> None:
        self.config = config
        self.proc = instance_id(config)
        self.bus: Bus = open_bus(config)
        self.leaderboard = Leaderboard(self.bus, online_ttl_s=PRESENCE_S * 3)
        self.events = EventLog(self.bus)
        self.recorder = Recorder(self.leaderboard, self.events)
        registry.observers.append(self.recorder)
        self.cluster = Cluster(registry, self.bus, self.proc) if config.redis_url else None
        self.directory: RoomDirectory = self.cluster if self.cluster is not None else registry
        self._sessions = sessions
        self._online: dict[str, tuple[str, str]] = {}  # session id -> (name, room) written
        self._presence: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.cluster is not None:
            await self.cluster.start()
        self._presence = asyncio.create_task(self._keep_presence(), name="presence")
        log.info("shared backend", extra={"instance": self.proc, "redis": bool(self.cluster)})

    async def hand_over(self) -> None:
        if self.cluster is not None:
            await self.cluster.hand_over()

    async def close(self) -> None:
        if self._presence is not None:
            self._presence.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._presence
        # Side by side, so that a slow bus costs the shutdown one budget, not one each.
        await asyncio.gather(self.recorder.close(), self._all_offline())
        if self.cluster is not None:
            await self.cluster.close()
        await self.bus.close()

    async def _all_offline(self) -> None:
        with contextlib.suppress(BusUnavailable, TimeoutError):  # presence entries expire anyway
            async with asyncio.timeout(CLOSE_BUDGET_S):
                await self.leaderboard.players_offline(self._online)

    async def _keep_presence(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = float("-inf")
        while True:
            full = loop.time() - last_full >= PRESENCE_S
            try:
                await self.refresh_presence(full)
                if full:
                    last_full = loop.time()
            except BusUnavailable:
                pass
            except Exception:
                log.exception("presence refresh failed")
            await asyncio.sleep(PRESENCE_CHECK_S)

    async def refresh_presence(self, full: bool = False) -> None:
        """Write named sessions that are new or moved (all of them with `full`) as online, and
        those that left as offline."""
        now: dict[str, tuple[str, str]] = {}
        for session in self._sessions():
            if session.name is not None:
                room = session.room.code if session.room is not None else ""
                now[session.id] = (session.name, room)
        # Departures in one call too: hundreds leave at once when a process drains.
        gone = [pid for pid in self._online if pid not in now]
        if gone:
            await self.leaderboard.players_offline(gone)
            for pid in gone:
                del self._online[pid]
        # Every player at once every PRESENCE_S: one call, not one each (a burst of a thousand
        # calls made ticks late on a process at half a core).
        changed = {pid: v for pid, v in now.items() if full or self._online.get(pid) != v}
        await self.leaderboard.players_online(changed)
        self._online.update(changed)

    async def api(self, path: str) -> Response | None:
        """/api/leaderboard and /api/stats as JSON; None for any other path."""
        if path not in ("/api/leaderboard", "/api/stats"):
            return None
        try:
            if path == "/api/leaderboard":
                body: dict[str, Any] = await self.leaderboard.leaderboard()
            else:
                await self.refresh_presence()  # this process's part is exact, not 20 s old
                body = await self.leaderboard.stats()
        except BusUnavailable:
            return http.text(503, "the shared backend is unavailable\n")
        response = http.response(200, json.dumps(body).encode(), "application/json")
        # Public, read-only numbers: a client served from a CDN origin may read them too.
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
