"""The ceiling: the least a websockets server can do to push the same frames to the same clients.

It speaks just enough of protocol v1 for the same bots to connect (hello -> welcome, quick_play ->
joined in rooms of 8), then once per send interval builds one frame of a given size per room,
shaped like a state frame (seq, simulation frame number, no players so bots never steer) and
hands it to `websockets.broadcast()`. No game, no parsing beyond JSON control messages. Its own
tick lateness is served as JSON at /stats so the runner can read it in the same run.

Run as `python -m bench ceiling --port P --frame-bytes 64`.
"""

from __future__ import annotations

import asyncio
import http
import json
import signal
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bench.bot import pin_to
from bench.stats import percentiles

ROOM_SIZE = 8


@dataclass
class Room:
    code: str
    members: set[ServerConnection] = field(default_factory=set)
    seq: int = 0


@dataclass
class Ceiling:
    """Rooms, the send loop and its lateness record."""

    frame_bytes: int = 64
    tick_hz: int = 60
    send_hz: int = 20
    rooms: list[Room] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    frame: int = 0

    def seat(self, ws: ServerConnection) -> Room:
        room = self.rooms[-1] if self.rooms and len(self.rooms[-1].members) < ROOM_SIZE else None
        if room is None:
            room = Room(code=f"C{len(self.rooms):05d}")
            self.rooms.append(room)
        room.members.add(ws)
        return room

    def build(self, room: Room) -> bytes:
        head = struct.pack("<BBHIBBBBH", 2, 0, room.seq, self.frame, 1, 1, 0, 0, 0)
        room.seq = (room.seq + 1) & 0xFFFF
        return head + bytes(max(0, self.frame_bytes - len(head)))

    async def send_loop(self) -> None:
        # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
        clock = time.perf_counter
        period = 1.0 / self.send_hz
        step = max(1, self.tick_hz // self.send_hz)
        due = clock() + period
        while True:
            await asyncio.sleep(max(0.0, due - clock()))
            now = clock()
            self.lateness.append(now - due)
            self.stamps.append(now)
            self.frame += step
            for room in self.rooms:
                if room.members:
                    broadcast(room.members, self.build(room))
            due += period
            if now - due > 1.0:  # hopelessly behind: resynchronise rather than burst
                due = now + period

    def stats(self) -> dict[str, Any]:
        samples = sorted(x * 1000 for x in self.lateness)
        slices: dict[int, float] = {}
        for stamp, late in zip(self.stamps, self.lateness, strict=True):
            second = int(stamp)
            slices[second] = max(slices.get(second, 0.0), late * 1000)
        self.lateness.clear()
        self.stamps.clear()
        result: dict[str, Any] = percentiles(samples, (50, 99, 100))
        result["samples"] = len(samples)
        if slices:  # 20 sends a second: a second's p99 is its worst send
            worst = sorted(slices.values())
            result["slice_p99"] = round(worst[len(worst) // 2], 4)
        result["connections"] = sum(len(r.members) for r in self.rooms)
        return result

    async def handler(self, ws: ServerConnection) -> None:
        room: Room | None = None
        try:
            async for raw in ws:
                if not isinstance(raw, str):
                    continue  # intents: nothing to simulate
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "hello":
                    welcome = {"type": "welcome", "v": 1, "session": "c", "name": "bot"}
                    welcome |= {"tick_hz": self.tick_hz, "send_hz": self.send_hz}
                    await ws.send(json.dumps(welcome))
                elif kind == "quick_play" and room is None:
                    room = self.seat(ws)
                    joined: dict[str, Any] = {"type": "joined", "room": room.code, "you": None}
                    joined |= {"mode": "arena", "token": None, "maze": [], "state": "playing"}
                    await ws.send(json.dumps(joined))
        finally:
            if room is not None:
                room.members.discard(ws)

    def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        if request.path == "/stats":
            body = json.dumps(self.stats()).encode()
            headers = Headers([("Content-Type", "application/json")])
            return Response(http.HTTPStatus.OK, "OK", headers, body)
        return None


async def serve_ceiling(host: str, port: int, ceiling: Ceiling) -> None:
    """Serve until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    async with serve(
        ceiling.handler,
        host,
        port,
        compression=None,
        process_request=ceiling.process_request,
        ping_interval=None,
        max_queue=16,
        backlog=4096,
    ):
        sender = loop.create_task(ceiling.send_loop())
        await stop
        sender.cancel()


def main(host: str, port: int, frame_bytes: int, cpu: int | None, use_uvloop: bool) -> None:
    """Entry point of the ceiling process."""
    pin_to(cpu)
    ceiling = Ceiling(frame_bytes=frame_bytes)
    if use_uvloop:
        import uvloop

        uvloop.run(serve_ceiling(host, port, ceiling))
    else:
        asyncio.run(serve_ceiling(host, port, ceiling))
