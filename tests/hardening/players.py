"""Well-behaved players for hardening tests: a room of two that records frame arrival times."""

from __future__ import annotations

import asyncio
import itertools
import time

from tests.server.wsclient import Client


class TimedClient(Client):
    """A test client that also notes when each state frame arrived."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.arrivals: list[float] = []
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _apply(self, data: bytes) -> None:
        self.arrivals.append(time.monotonic())
        super()._apply(data)

    def worst_gap(self, since: float, until: float) -> float:
        """The longest wait between state frames inside [since, until]."""
        times = [t for t in self.arrivals if since <= t <= until]
        if len(times) < 2:
            return float("inf")
        return max(b - a for a, b in itertools.pairwise(times))


async def room_of_two(port: int) -> tuple[list[TimedClient], str]:
    """Two players in one running arena room; returns them and the room code."""
    a = TimedClient(await _connect(port))
    b = TimedClient(await _connect(port))
    await a.hello("Good1")
    await a.send({"type": "create", "mode": "arena"})
    code: str = (await a.expect("joined"))["room"]
    await b.hello("Good2")
    await b.send({"type": "join", "room": code})
    await b.expect("joined")
    await a.send({"type": "start"})
    await a.wait_for(lambda: len(a.frames) > 10, 10)
    return [a, b], code


async def _connect(port: int):  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect

    return await connect(f"ws://127.0.0.1:{port}/ws", compression=None)


async def steer(players: list[TimedClient], stop: asyncio.Event) -> None:
    """Keep the players turning, as people do."""
    dirs = ["up", "left", "down", "right"]
    i = 0
    while not stop.is_set():
        for p in players:
            await p.send({"type": "input", "dir": dirs[i % 4]})
        i += 1
        await asyncio.sleep(0.25)
