"""The server: one port for the websocket (/ws), /healthz and the static client; SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from server import collector, http, metrics, protocol
from server.chat import MemoryChatHistory
from server.config import Config
from server.rooms import Registry
from server.scheduler import Clock, Scheduler
from server.session import Session
from server.shared import Shared
from server.transport import GameConnection

log = logging.getLogger("server.app")

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SHUTDOWN_SLACK_S = 5.0  # beyond the drain timeout: hand-over, recorder and bus close


class App:
    """Everything one process serves. `start()` binds; `drain()` empties it; `stop()` ends it."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.scheduler = Scheduler(config.tick_hz, clock) if clock else Scheduler(config.tick_hz)
        self.scheduler.observe = metrics.STATS.observe_tick
        self.registry = Registry(config, self.scheduler, MemoryChatHistory(config.chat_history))
        # The bus, leaderboards, analytics; with REDIS_URL the cross-process room directory.
        self.shared = Shared(config, self.registry, lambda: self.sessions)
        self.static = http.StaticFiles(Path(config.static_dir) if config.static_dir else WEB_DIR)
        self.sessions: set[Session] = set()
        self.per_ip: Counter[str] = Counter()
        self.server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._metrics: asyncio.Server | None = None
        self.port = config.port
        self.metrics_port = config.metrics_port

    def gauges(self) -> metrics.Gauges:
        rooms = list(self.registry.rooms.values())
        return metrics.Gauges(
            connections=len(self.sessions),
            rooms=len(rooms),
            players=sum(len(r.seats) for r in rooms),
            spectators=sum(len(r.spectators) for r in rooms),
            ticks_dropped=self.scheduler.dropped,
            tick_late_max_s=self.scheduler.late_max,
        )

    @property
    def draining(self) -> bool:
        return self.registry.draining

    async def start(self) -> None:
        await self.shared.start()
        self.server = await serve(
            self.handler,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            create_connection=GameConnection,
            # Game frames are tiny and shared by every client: no per-connection compression.
            compression=None,
            # Limits: a little headroom so an oversized message still gets a clear error.
            max_size=self.config.max_message_bytes * 4,
            max_queue=32,
            # Timeouts
            ping_interval=self.config.ping_interval_s,
            ping_timeout=self.config.ping_timeout_s,
            close_timeout=2,
            backlog=self.config.listen_backlog,
        )
        sockets = list(self.server.sockets)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self.scheduler.run(), name="scheduler")
        if self.config.metrics_port:
            registry = metrics.registry_for(self.gauges)
            self._metrics = await metrics.serve_metrics(
                registry, self.config.host, self.config.metrics_port
            )
            self.metrics_port = self._metrics.sockets[0].getsockname()[1]
        log.info("listening", extra={"host": self.config.host, "port": self.port})

    # --- HTTP ----------------------------------------------------------------------------------

    def origin_ok(self, request: Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: nothing to protect against
        if origin in self.config.allowed_origins:
            return True
        host = request.headers.get("Host", "")
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if request.method == "HEAD":  # curl -I, link checkers, some probes: GET without a body
            answer = await self._process_request(connection, replace(request, method="GET"))
            return http.not_allowed() if answer is None else http.head_of(answer)
        if request.method == "GET":
            api = await self.shared.api(http.split_path(request.path))
            if api is not None:
                return api
        return self.process_request(connection, request)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = http.split_path(request.path)
        if request.method != "GET":
            return http.not_allowed()
        if path == "/healthz":
            return http.text(503, "draining\n") if self.draining else http.text(200, "ok\n")
        if path == "/ws":
            if not self.origin_ok(request):
                log.info("origin rejected", extra={"origin": request.headers.get("Origin")})
                return http.text(403, "origin not allowed\n")
            if self.draining:
                return http.text(503, "draining\n")
            return None
        if self.config.serve_static:
            return self.static.get(path)
        return http.text(404, "not found\n")

    # --- websockets ----------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, GameConnection)  # serve(create_connection=GameConnection)
        ip = client_ip(ws, self.config.forwarded_for_hops)
        if len(self.sessions) >= self.config.max_connections:
            metrics.STATS.refused["global_cap"] += 1
            await self._refuse(ws, 1013, "server_full", "the server is full; try again later")
            return
        if self.per_ip[ip] >= self.config.max_connections_per_ip:
            metrics.STATS.refused["address_cap"] += 1
            await self._refuse(ws, 1008, "server_full", "too many connections from your address")
            return
        self._bound_send_buffer(ws)
        session = Session(ws, self.config, self.shared.directory)
        self.sessions.add(session)
        self.per_ip[ip] += 1
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self.per_ip[ip] -= 1
            if self.per_ip[ip] <= 0:
                del self.per_ip[ip]

    def _bound_send_buffer(self, ws: ServerConnection) -> None:
        # A small kernel buffer keeps a stuck client's backlog in our transport, where the
        # latest-snapshot-wins check sees it, instead of megabytes of stale frames in the kernel.
        size = self.config.socket_send_buffer
        sock = ws.transport.get_extra_info("socket")
        if size and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    async def _refuse(self, ws: ServerConnection, code: int, err: str, reason: str) -> None:
        with contextlib.suppress(Exception):
            await ws.send(protocol.error(err, reason))
        await ws.close(code, reason)

    # --- shutdown ------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop accepting, tell every client to reconnect elsewhere, close them with 1001."""
        if self.registry.draining:
            return
        self.registry.draining = True
        log.info("draining", extra={"sessions": len(self.sessions)})
        # Rooms go to other processes first (final snapshot, lease released), so the clients
        # told to reconnect below find them running elsewhere.
        await self.shared.hand_over()
        message = protocol.reconnect("draining")
        for session in list(self.sessions):
            session.conn.send_text(message)
        if self.server is not None:
            self.server.close(close_connections=True)
            try:
                await asyncio.wait_for(self.server.wait_closed(), self.config.drain_timeout_s)
            except TimeoutError:
                log.warning("drain timed out", extra={"sessions": len(self.sessions)})

    async def stop(self) -> None:
        await self.drain()
        self.scheduler.stop()
        if self._metrics is not None:
            self._metrics.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.shared.close()


def client_ip(ws: ServerConnection, hops: int) -> str:
    """The client's address: the peer's, or the one `hops` entries from the right of
    X-Forwarded-For when we sit behind that many trusted proxies (clients can forge the rest)."""
    peer = str(ws.remote_address[0]) if ws.remote_address else "?"
    if hops <= 0 or ws.request is None:
        return peer
    chain = [
        part.strip()
        for value in ws.request.headers.get_all("X-Forwarded-For")
        for part in value.split(",")
        if part.strip()
    ]
    return chain[-hops] if len(chain) >= hops else peer


async def run(config: Config) -> None:
    """Serve until SIGTERM or SIGINT, then drain and return."""
    app = App(config)
    await app.start()
    collector.tune()  # after startup, so that what it made is frozen (see server.collector)
    if not config.log_json or sys.stdout.isatty():
        print(f"Pac-Arena is running at {config.url}", flush=True)
    else:
        # A collected stdout (container, CloudWatch) stays one JSON object per line.
        print(json.dumps({"msg": "Pac-Arena is running", "url": config.url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # A shutdown that outlives its budget is cut short: the orchestrator would kill the
    # process anyway (ECS: stopTimeout), and a process that never exits holds its port.
    stopping = asyncio.ensure_future(app.stop())
    done, _ = await asyncio.wait([stopping], timeout=config.drain_timeout_s + SHUTDOWN_SLACK_S)
    if not done:
        log.error("shutdown did not finish in time; exiting anyway")
        logging.shutdown()
        os._exit(1)
    stopping.result()
    log.info("stopped")
