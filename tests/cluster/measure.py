"""Measure the cluster's Redis traffic: `python -m tests.cluster.measure` (about 30 s).

Starts a private redis-server and two server processes, then counts Redis commands by kind
(INFO commandstats) with no room, and with one playing room whose second player is relayed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from tests.cluster.procs import cluster
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer

WINDOW_S = 10.0


async def counts(url: str) -> dict[str, int]:
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def window(url: str) -> dict[str, float]:
    before = await counts(url)
    await asyncio.sleep(WINDOW_S)
    after = await counts(url)
    rates = {k: (after[k] - before.get(k, 0)) / WINDOW_S for k in after}
    rates["info"] = rates.get("info", 1 / WINDOW_S) - 1 / WINDOW_S
    return {k: v for k, v in sorted(rates.items()) if v > 0}


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        redis = RedisServer(Path(folder))
        redis.start()
        try:
            with cluster(redis.url, Path(folder), count=2) as (p0, p1):
                await asyncio.sleep(2)
                idle = await window(redis.url)
                ada = await Client.open(p0.port)
                await ada.hello("Ada")
                await ada.send({"type": "create", "mode": "arena"})
                code = (await ada.expect("joined"))["room"]
                bob = await Client.open(p1.port)
                await bob.hello("Bob")
                await bob.expect("rooms", lambda m: any(r["code"] == code for r in m["rooms"]))
                await bob.send({"type": "join", "room": code})
                await bob.expect("joined")
                await asyncio.sleep(1)
                frames0, t0 = len(bob.frames), time.monotonic()
                busy = await window(redis.url)
                fps = (len(bob.frames) - frames0) / (time.monotonic() - t0)
                await ada.close()
                await bob.close()
        finally:
            redis.stop()
    print(f"{'command':<12}{'idle /s':>10}{'one room /s':>14}{'room adds /s':>14}")
    for name in sorted(set(idle) | set(busy)):
        a, b = idle.get(name, 0.0), busy.get(name, 0.0)
        print(f"{name:<12}{a:>10.1f}{b:>14.1f}{b - a:>14.1f}")
    total_idle, total_busy = sum(idle.values()), sum(busy.values())
    print(f"{'total':<12}{total_idle:>10.1f}{total_busy:>14.1f}{total_busy - total_idle:>14.1f}")
    print(f"frames reaching the relayed player: {fps:.1f}/s")


if __name__ == "__main__":
    asyncio.run(main())
