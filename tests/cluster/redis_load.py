"""Redis commands per room per second with quick-play rooms whose players are all local.

`python -m tests.cluster.redis_load [rooms per process]` (about 25 s) starts a private
redis-server and two server processes (two seats per room, so quick play makes one room per
two players), counts commands over a window with no room, then with the rooms playing, and
prints both per second and what each room adds, by command. Two counts:

- all: `INFO commandstats`, everything Redis ran, the commands inside Lua scripts included;
- sent: the commands the servers sent (`MONITOR`, leaving out the lines marked `lua`), which
  is what `redis.asyncio` encodes and parses in the server (a pipeline sends several at once).

`tests/cluster/test_redis_budget.py` runs the same measurement against a budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from tests.cluster.procs import ServerProcess, cluster
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer

WINDOW_S = 6.0
SETTLE_S = 2.0  # after the rooms fill: every room has been through a lease renewal and a refresh
HARNESS = {"info", "monitor", "ping"}  # the measurement's own commands
_LINE = re.compile(rb'^\+[0-9.]+ \[\d+ (\S+)\] "([^"]+)"')


@dataclass
class Rates:
    """Commands per second by command name: all that Redis ran, and those the servers sent."""

    all: dict[str, float]
    sent: dict[str, float]

    def minus(self, other: Rates, per: float = 1.0) -> Rates:
        def diff(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: (a.get(k, 0.0) - b.get(k, 0.0)) / per for k in sorted(set(a) | set(b))}

        return Rates(diff(self.all, other.all), diff(self.sent, other.sent))

    @property
    def total_all(self) -> float:
        return sum(self.all.values())

    @property
    def total_sent(self) -> float:
        return sum(self.sent.values())


async def commandstats(url: str) -> Counter[str]:
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    calls = Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})
    for name in HARNESS:
        del calls[name]
    return calls


async def _monitor(port: int, sent: Counter[str], ready: asyncio.Event) -> None:
    # a line carries a whole command: a batch of snapshots is several hundred KB
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 26)
    try:
        writer.write(b"MONITOR\r\n")
        await writer.drain()
        await reader.readline()  # +OK
        ready.set()
        while line := await reader.readline():
            match = _LINE.match(line)
            if match is not None and match.group(1) != b"lua":
                name = match.group(2).decode().lower()
                if name not in HARNESS:
                    sent[name] += 1
    finally:
        writer.close()


async def window(redis: RedisServer, seconds: float = WINDOW_S) -> Rates:
    """Commands per second over the next `seconds`."""
    sent: Counter[str] = Counter()
    ready = asyncio.Event()
    watcher = asyncio.create_task(_monitor(redis.port, sent, ready))
    await asyncio.wait_for(ready.wait(), 5)
    before = await commandstats(redis.url)
    await asyncio.sleep(seconds)
    after = await commandstats(redis.url)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    ran = after - before
    return Rates(
        {k: v / seconds for k, v in sorted(ran.items())},
        {k: v / seconds for k, v in sorted(sent.items())},
    )


async def fill(procs: list[ServerProcess], rooms_per_process: int) -> list[Client]:
    """Two quick-play players per room, both on the room's own process; returns the clients."""
    clients: list[Client] = []
    codes: dict[str, set[str]] = {}
    for proc in procs:
        for i in range(2 * rooms_per_process):
            client = await Client.open(proc.port)
            clients.append(client)
            await client.hello(f"{proc.name}x{i}")
            await client.send({"type": "quick_play", "mode": "arena"})
            joined = await client.expect("joined")
            codes.setdefault(joined["room"], set()).add(proc.name)
    per_process = Counter(next(iter(names)) for names in codes.values())
    assert all(len(names) == 1 for names in codes.values()), f"players not local: {codes}"
    assert len(codes) == rooms_per_process * len(procs), f"rooms: {codes}"
    assert set(per_process.values()) == {rooms_per_process}, f"rooms per process: {per_process}"
    return clients


@dataclass
class Measured:
    rooms: int
    idle: Rates  # per second, no room
    busy: Rates  # per second, the rooms playing
    per_room: Rates  # (busy - idle) / rooms


async def measure(redis: RedisServer, folder: Path, rooms_per_process: int = 6) -> Measured:
    """Two processes: a window with no room, then one with `rooms_per_process` rooms on each."""
    env = {"MAX_PLAYERS_PER_ROOM": "2", "LOG_LEVEL": "WARNING"}
    with cluster(redis.url, folder, count=2, **env) as procs:
        await asyncio.sleep(SETTLE_S)
        idle = await window(redis)
        clients = await fill(procs, rooms_per_process)
        try:
            await asyncio.sleep(SETTLE_S)
            busy = await window(redis)
            playing = sum(1 for c in clients if c.frames)
            assert playing == len(clients), f"only {playing} of {len(clients)} clients got frames"
        finally:
            for client in clients:
                await client.close()
    rooms = rooms_per_process * 2
    return Measured(rooms, idle, busy, busy.minus(idle, rooms))


def table(m: Measured) -> str:
    rows = [
        f"{'command':<14}{'idle /s':>9}{'busy /s':>9}{'per room':>10}"
        f"{'sent idle':>11}{'sent busy':>11}{'sent/room':>11}"
    ]
    names = sorted(set(m.idle.all) | set(m.busy.all) | set(m.busy.sent) | set(m.idle.sent))
    for name in names:
        rows.append(
            f"{name:<14}{m.idle.all.get(name, 0):>9.1f}{m.busy.all.get(name, 0):>9.1f}"
            f"{m.per_room.all.get(name, 0):>10.2f}{m.idle.sent.get(name, 0):>11.1f}"
            f"{m.busy.sent.get(name, 0):>11.1f}{m.per_room.sent.get(name, 0):>11.2f}"
        )
    rows.append(
        f"{'total':<14}{m.idle.total_all:>9.1f}{m.busy.total_all:>9.1f}"
        f"{m.per_room.total_all:>10.2f}{m.idle.total_sent:>11.1f}"
        f"{m.busy.total_sent:>11.1f}{m.per_room.total_sent:>11.2f}"
    )
    return "\n".join(rows) + f"\n({m.rooms} rooms on 2 processes, all players local)"


async def main(rooms_per_process: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        redis = RedisServer(Path(folder))
        redis.start()
        try:
            print(table(await measure(redis, Path(folder), rooms_per_process)))
        finally:
            redis.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
