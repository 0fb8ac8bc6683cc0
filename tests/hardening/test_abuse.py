"""Abuse: message floods are throttled then cut, connection caps per address and in all, and the
origin allow-list; the players of a room play on throughout."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import statistics
import time
import urllib.request
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server import protocol
from server.game.view import Direction, Phase
from tests.hardening.players import TimedClient, room_of_two, steer
from tests.hardening.support import MachineStalls, ServerProcess
from tests.support.timing import TIMED

FLOOD_RATE = 10_000  # messages per second


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(name="abuse").start()  # the default limits: 30/s, burst 60
    yield proc
    proc.stop()


async def flood_once(url: str) -> tuple[float, float | None, int, float, int | None, str]:
    """Flood one connection at FLOOD_RATE until cut; return (time to cut, time to the first
    rate_limited error, messages sent, closing handshake time, close code, close reason)."""
    async with connect(url, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "v": 1, "name": "Flood"}))
        throttled: list[float] = []
        started = time.monotonic()

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    if isinstance(raw, str) and '"rate_limited"' in raw and not throttled:
                        throttled.append(time.monotonic() - started)

        reader = asyncio.create_task(read())
        sent = 0
        try:
            while time.monotonic() - started < 5:
                # 10 messages every millisecond is 10,000 a second.
                if ws.protocol.close_rcvd is not None:
                    break  # cut: the server's close frame is here
                for _ in range(10):
                    await ws.send('{"type":"ping","t":1}')
                sent += 10
                due = started + sent / FLOOD_RATE
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        except ConnectionClosed:
            pass
        cut = time.monotonic() - started
        await asyncio.wait_for(reader, 5)
        handshake = time.monotonic() - started - cut
        return (
            cut,
            throttled[0] if throttled else None,
            sent,
            handshake,
            ws.close_code,
            ws.close_reason,
        )


@TIMED
async def test_a_10k_per_second_flood_is_throttled_then_cut_while_others_play(
    server: ServerProcess,
) -> None:
    players, _ = await room_of_two(server.port)
    stop = asyncio.Event()
    steering = asyncio.create_task(steer(players, stop))
    await asyncio.sleep(1.0)
    quiet_from = time.monotonic()
    await asyncio.sleep(1.5)
    flood_from = time.monotonic()
    stalls = MachineStalls().start()
    # An attacker floods, gets cut, reconnects and floods again, for about three seconds.
    results = []
    while time.monotonic() - flood_from < 3:
        results.append(await flood_once(server.ws_url))
    flood_to = time.monotonic()
    await stalls.stop()
    stop.set()
    await steering
    cuts = [r[0] for r in results]
    print(
        f"\nflood at {FLOOD_RATE}/s: {len(results)} connections, cut after "
        f"median {statistics.median(cuts) * 1000:.0f} ms, worst {max(cuts) * 1000:.0f} ms "
        f"({max(r[2] for r in results)} messages at most), closing handshake worst "
        f"{max(r[3] for r in results) * 1000:.0f} ms; throttled after "
        f"{max(r[1] or 0 for r in results) * 1000:.0f} ms at worst; players' worst frame gap "
        f"{max(p.worst_gap(flood_from, flood_to) for p in players) * 1000:.0f} ms in the flood, "
        f"{max(p.worst_gap(quiet_from, flood_from) for p in players) * 1000:.0f} ms before; "
        f"this process's own worst stall in the flood {stalls.worst * 1000:.0f} ms"
    )
    for cut, throttled, _, handshake, code, reason in results:
        assert throttled is not None  # a rate_limited error came before the close frame
        assert (code, reason) == (1008, "too many messages")
        assert cut < 1.0
        assert handshake < 1.0  # a clean closing handshake, not the 2 s close timeout
    for p in players:
        assert not p.closed.is_set()
        # Frames keep coming at 20 Hz: never a gap of more than a few frame periods (or no
        # worse than the quiet second before, or than the stall of this process meanwhile,
        # which delays its reading of every frame: the whole machine stalls now and then).
        machine = max(p.worst_gap(quiet_from, flood_from), stalls.worst + 0.1)
        assert p.worst_gap(flood_from, flood_to) < max(0.25, machine)
        await p.close()


async def refused(url: str, forwarded_for: str) -> tuple[int | None, str, str]:
    """Open a connection that should be refused: (close code, reason, error code)."""
    async with connect(
        url, compression=None, additional_headers={"X-Forwarded-For": forwarded_for}
    ) as ws:
        err = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        return ws.close_code, ws.close_reason, err["code"]


async def test_caps_per_address_and_in_all_with_clear_reasons() -> None:
    proc = ServerProcess(
        {"MAX_CONNECTIONS": "5", "MAX_CONNECTIONS_PER_IP": "3", "FORWARDED_FOR_HOPS": "1"},
        name="caps",
    ).start()
    try:
        url = proc.ws_url

        def at(addr: str):  # type: ignore[no-untyped-def]
            return connect(url, compression=None, additional_headers={"X-Forwarded-For": addr})

        first = [await at("203.0.113.1") for _ in range(3)]
        assert await refused(url, "203.0.113.1") == (
            1008,
            "too many connections from your address",
            "server_full",
        )
        others = [await at("203.0.113.2") for _ in range(2)]  # five in all now
        assert await refused(url, "203.0.113.3") == (
            1013,
            "the server is full; try again later",
            "server_full",
        )
        # Open connections still work, and a freed place is reused.
        await first[0].send(json.dumps({"type": "hello", "v": 1, "name": "Ada"}))
        assert json.loads(await first[0].recv())["type"] == "welcome"
        await others[0].close()
        await asyncio.sleep(0.2)
        again = await at("203.0.113.3")
        await again.send(json.dumps({"type": "ping", "t": 5}))
        assert json.loads(await asyncio.wait_for(again.recv(), 5))["code"] == "not_ready"
        m = proc.metrics()
        assert m.get('pacarena_connections_refused_total{reason="address_cap"}') == 1
        assert m.get('pacarena_connections_refused_total{reason="global_cap"}') == 1
        for ws in [*first, *others[1:], again]:
            await ws.close()
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser
        ("http://127.0.0.1:{port}", True),  # our own page
        ("https://play.example.com", True),  # the configured CloudFront/S3 origin
        ("https://evil.example.net", False),
        ("https://play.example.com.evil.net", False),
        ("http://play.example.com", False),  # wrong scheme
        ("null", False),  # sandboxed frames and file:// pages
        ("http://127.0.0.1:{port}.evil.net", False),
    ],
)
async def test_origin_allow_list(origin: str | None, allowed: bool) -> None:
    proc = _origin_server()
    headers = {} if origin is None else {"Origin": origin.format(port=proc.port)}
    try:
        ws = await connect(proc.ws_url, compression=None, additional_headers=headers)
    except InvalidStatus as exc:
        assert not allowed, f"{origin} was refused"
        assert exc.response.status_code == HTTPStatus.FORBIDDEN
    else:
        assert allowed, f"{origin} was let in"
        await ws.close()


_ORIGIN_SERVER: list[ServerProcess] = []


def _origin_server() -> ServerProcess:
    if not _ORIGIN_SERVER or not _ORIGIN_SERVER[0].alive():
        _ORIGIN_SERVER[:] = [
            ServerProcess({"ALLOWED_ORIGINS": "https://play.example.com"}, name="origin").start()
        ]
    return _ORIGIN_SERVER[0]


@pytest.fixture(scope="module", autouse=True)
def _stop_origin_server() -> Iterator[None]:
    yield
    for proc in _ORIGIN_SERVER:
        proc.stop()


def test_the_origin_check_does_not_block_plain_pages() -> None:
    proc = _origin_server()
    req = urllib.request.Request(proc.url("/healthz"), headers={"Origin": "https://evil.net"})
    with urllib.request.urlopen(req, timeout=5) as res:
        assert res.status == 200


@TIMED
async def test_an_intent_flood_buys_no_speed(server: ServerProcess) -> None:
    c = TimedClient(await connect(server.ws_url, compression=None))
    await c.hello("Zoom")
    await c.send({"type": "create", "mode": "classic"})
    await c.expect("joined")
    await c.wait_for(lambda: c.frames and c.frames[-1].phase == Phase.PLAYING, 15)
    first = len(c.frames)
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        # 25 intents a second (just under the message limit, so it is not cut off), each one
        # the same direction, as a cheating client would send to try to move faster.
        await c.ws.send(protocol.encode_intent(Direction.LEFT))
        await asyncio.sleep(0.04)
    frames = c.frames[first:]

    # (px moved, simulation steps taken) between consecutive frames: usually 3 steps, more
    # when a starved server ran ticks back to back and sent one frame for them
    def x(frame: protocol.DecodedFrame) -> int:
        return next(p.x for p in frame.players if p.id == 0)

    steps = [
        (abs(x(b) - x(a)), b.frame - a.frame)
        for a, b in itertools.pairwise(frames)
        if b.seq == (a.seq + 1) & 0xFFFF and b.frame > a.frame
    ]
    moving = [(d, n) for d, n in steps if 0 < d < 50]  # 50+: through the tunnel
    assert moving, "the player never moved"
    assert not c.closed.is_set()
    # px per second while moving, at 60 steps/s
    speed = sum(d for d, _ in moving) / sum(n for _, n in moving) * 60
    fastest = max(d / n for d, n in moving)
    print(f"\nintent flood at 25/s: {fastest:.2f} px per step at most, {speed:.0f} px/s")
    # The arcade's full speed is about 75 px/s (1.25 px a step, at most 4 px in 3 steps);
    # 50 intents bought nothing.
    assert all(3 * d <= 4 * n for d, n in moving) and speed < 80
    await c.close()
