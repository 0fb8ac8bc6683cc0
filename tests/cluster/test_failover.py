"""Rooms outlive their owner: kill -9, SIGTERM hand-over, and a Redis restart mid-game."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from server import snapshot
from server.bus import keys
from server.bus.redis import RedisBus
from server.game import Arena
from tests.cluster.conftest import OpenClient
from tests.cluster.procs import ServerProcess, cluster
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer
from tests.support.timing import TIMED

pytestmark = TIMED

FAILOVER_LIMIT_S = 3.0


@pytest.fixture
def procs(redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    with cluster(redis_url, tmp_path) as started:
        yield started


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[RedisBus]:
    b = RedisBus.from_url(redis_url)
    yield b
    await b.close()


def timed(client: Client) -> list[float]:
    """Record when each state frame arrives (monotonic seconds)."""
    times: list[float] = []
    apply = client._apply

    def wrapped(data: bytes) -> None:
        times.append(time.monotonic())
        apply(data)

    client._apply = wrapped  # type: ignore[method-assign]
    return times


async def two_players(
    owner: ServerProcess, other: ServerProcess, open_client: OpenClient
) -> tuple[Client, Client, str, dict[str, Any], dict[str, Any]]:
    """Ada creates an arena room on `owner`, Bob joins from `other`; both are playing."""
    ada = await open_client(owner)
    await ada.hello("Ada")
    await ada.send({"type": "create", "mode": "arena"})
    ja = await ada.expect("joined")
    bob = await open_client(other)
    await bob.hello("Bob")
    await bob.expect("rooms", lambda m: any(r["code"] == ja["room"] for r in m["rooms"]))
    await bob.send({"type": "join", "room": ja["room"]})
    jb = await bob.expect("joined")
    for c in (ada, bob):
        await c.expect("room_state", lambda m: m["state"] == "playing")
    return ada, bob, ja["room"], ja, jb


async def eat_some(ada: Client, bob: Client, ada_id: int) -> None:
    """Steer both until Ada has scored (she keeps turning, so she keeps eating)."""
    deadline = time.monotonic() + 10
    turn = ("left", "up", "right", "down")
    i = 0
    while not (bob.scores.get(ada_id, (0, 0))[0] > 0):
        assert time.monotonic() < deadline, "Ada never scored"
        await ada.send({"type": "input", "dir": turn[i % 4]})
        await bob.send({"type": "input", "dir": turn[(i + 2) % 4]})
        i += 1
        await asyncio.sleep(0.3)


def arena_of(raw: bytes) -> tuple[dict[int, int], int, int]:
    """Scores by player, the pellet bitmask and the simulation step in a snapshot."""
    view = Arena.from_state(snapshot.peek(raw)["arena"]).view()
    return {p.id: p.score for p in view.players}, view.pellets, view.frame


async def test_kill_9_owner_room_resumes_elsewhere_with_scores(
    procs: list[ServerProcess], open_client: OpenClient, bus: RedisBus
) -> None:
    p0, p1, p2 = procs
    ada, bob, code, ja, _ = await two_players(p0, p1, open_client)
    bob_times = timed(bob)
    await eat_some(ada, bob, ja["you"])
    await asyncio.sleep(0.6)  # one snapshot period, so the last snapshot has the score
    # Freeze the owner first so the snapshot we read is its last one, then kill -9.
    p0.stop_process()
    frozen_at = time.monotonic()
    await asyncio.sleep(0.2)
    raw = await bus.get(keys.room_snapshot(code))
    assert raw is not None
    scores, pellets, step = arena_of(raw)
    assert scores[ja["you"]] > 0
    p0.kill()
    before = len(bob_times)
    await bob.wait_for(lambda: len(bob_times) > before, timeout=FAILOVER_LIMIT_S + 2)
    failover = bob_times[before] - frozen_at
    print(f"\nfailover: kill to first frame from the new owner {failover:.2f} s")
    assert failover < FAILOVER_LIMIT_S
    # The new owner's first keyframe carries the snapshot's scores and pellets, plus what the
    # steps it ran since could have eaten: each of two players at most a pellet (8 px) in 6
    # steps (4 px in 3). A starved machine runs more steps before that keyframe goes out.
    await bob.wait_for(lambda: bob.pellets is not None and bob.frames[-1].kind == 1)
    assert bob.pellets is not None
    played = bob.frames[-1].frame - step
    assert 0 <= played <= FAILOVER_LIMIT_S * 60 * 2
    assert bob.pellets & ~pellets == 0, "pellets came back"
    eaten = bin(pellets).count("1") - bin(bob.pellets).count("1")
    assert eaten <= 3 + 2 * played // 6
    for pid, score in scores.items():
        assert score <= bob.scores[pid][0] <= score + 60 + 50 * eaten
    # Ada's connection died with p0; she reconnects (to p2) with her token: same seat.
    ada2 = await open_client(p2)
    await ada2.hello("Ada", token=ja["token"])
    back = await ada2.expect("joined")
    assert (back["room"], back["you"]) == (code, ja["you"])
    await ada2.wait_for(lambda: ada2.pellets is not None and ada2.me(ja["you"]) is not None)
    assert ada2.scores[ja["you"]][0] >= scores[ja["you"]]
    await ada2.send({"type": "chat", "channel": "room", "text": "back"})
    await bob.expect("chat", lambda m: m["text"] == "back")
    assert p1.alive and p2.alive


async def test_sigterm_hands_rooms_over_without_a_kill(
    procs: list[ServerProcess], open_client: OpenClient
) -> None:
    p0, p1, p2 = procs
    ada, bob, code, ja, _ = await two_players(p0, p1, open_client)
    bob_times = timed(bob)
    await eat_some(ada, bob, ja["you"])
    score = bob.scores[ja["you"]][0]
    started = time.monotonic()
    status = await asyncio.to_thread(p0.term, 30.0)
    took = time.monotonic() - started
    assert status == 0, p0.log()[-3000:]
    assert took < 10, f"SIGTERM took {took:.1f} s"
    await ada.expect("reconnect", timeout=2)
    await ada.closed.wait()
    before = len([t for t in bob_times if t <= started])
    await bob.wait_for(lambda: any(t > started + 0.05 for t in bob_times), timeout=3)
    gap = next(t for t in bob_times if t > started + 0.05) - started
    print(f"\nhand-over: SIGTERM to first frame from the new owner {gap:.2f} s; exit {took:.2f} s")
    assert before > 0
    ada2 = await open_client(p2)
    await ada2.hello("Ada", token=ja["token"])
    back = await ada2.expect("joined")
    assert (back["room"], back["you"]) == (code, ja["you"])
    await ada2.wait_for(lambda: ada2.pellets is not None and ja["you"] in ada2.scores)
    assert ada2.scores[ja["you"]][0] >= score


async def test_redis_restart_mid_game_processes_recover(
    own_redis: RedisServer, tmp_path: Path, open_client: OpenClient
) -> None:
    with cluster(own_redis.url, tmp_path) as procs:
        p0, p1, p2 = procs
        ada, bob, code, _, jb = await two_players(p0, p1, open_client)
        ada_times = timed(ada)
        bob_times = timed(bob)
        own_redis.stop(kill=True)
        down_at = time.monotonic()
        await asyncio.sleep(1.5)
        own_redis.start()
        up_at = time.monotonic()
        # Ada, on the owner, played on throughout; Bob's frames come back by themselves.
        assert any(down_at < t < up_at for t in ada_times)
        await bob.wait_for(lambda: any(t > up_at for t in bob_times), timeout=8)
        await bob.send({"type": "chat", "channel": "room", "text": "still here"})
        await ada.expect("chat", lambda m: m["text"] == "still here", timeout=5)
        # Redis lost everything (no persistence); the owner wrote the seats' tokens again, so
        # Bob can move to another process and keep his seat.
        await bob.close()
        # The owner writes its seats' tokens again at its next refresh (once a second); until
        # it has, p2 cannot find Bob's token and he lands in the lobby, so he tries again.
        deadline = time.monotonic() + 15
        while True:
            bob2 = await open_client(p2)
            await bob2.hello("Bob", token=jb["token"])
            try:
                back = await bob2.expect("joined", timeout=3)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "Bob's token was never written again"
                await bob2.close()
        assert (back["room"], back["you"]) == (code, jb["you"])
        # New rooms work across processes again.
        cy = await open_client(p2)
        await cy.hello("Cy")
        await cy.send({"type": "create", "mode": "arena"})
        new = (await cy.expect("joined"))["room"]
        dee = await open_client(p0)
        await dee.hello("Dee")
        await dee.expect("rooms", lambda m: any(r["code"] == new for r in m["rooms"]), timeout=5)
        assert all(p.alive for p in procs)


async def test_players_of_a_dead_relaying_process_show_as_disconnected(
    procs: list[ServerProcess], open_client: OpenClient
) -> None:
    p0, p1, _ = procs
    ada, _, _, ja, _ = await two_players(p0, p1, open_client)
    p1.kill()  # Bob's process, not the owner: nothing says goodbye for him
    roster = await ada.expect(
        "roster", lambda m: [p["connected"] for p in m["players"]].count(False) == 1, timeout=10
    )
    assert {p["id"]: p["connected"] for p in roster["players"]}[ja["you"]] is True
