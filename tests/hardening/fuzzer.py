"""A websocket fuzzer process: `python -m tests.hardening.fuzzer PORT CONNS FRAMES SEED [RATE]`.

Each connection says hello, then sends batches of hostile frames, each batch followed by a
marked ping; every frame before the marker must have drawn exactly one reply (an error or,
for the odd frame that happens to be valid, its answer). Now and then a connection ends with
a frame the server must close on (oversized, invalid UTF-8) and checks the close code, then
reconnects. Prints one JSON line of totals and every problem seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.hardening.support import looks_like_a_trace

MAX_MESSAGE = 4096  # the server's default max_message_bytes
LIBRARY_MAX = 4 * MAX_MESSAGE  # the websocket library's own frame limit on the server
KNOWN_CODES = {
    "bad_json",
    "bad_message",
    "unknown_type",
    "not_in_room",
    "room_not_found",
    "too_large",
}
TYPES = ["hello", "quick_play", "create", "join", "leave", "start", "input", "chat", "ping",
         "keyframe"]  # fmt: skip
BATCH = 10


@dataclass
class Totals:
    frames: int = 0
    replies: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)


def junk_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value of any type (wrong for most fields)."""
    pick = rng.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return rng.randint(-(2**63), 2**63 - 1)
    if pick == 1:
        return rng.random() * 10 ** rng.randint(-300, 300)
    if pick == 2:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(12)))
    if pick == 3:
        return rng.choice([True, False, None])
    if pick == 4:
        return rng.choice(["up", "lobby", "room", "arena", "", "\u202e", "<b>"])
    if pick == 5:
        return -rng.random()
    if pick == 6:
        return [junk_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["type", "dir", "v", "x"]): junk_value(rng, depth + 1)}


def wrong_types(rng: random.Random) -> str:
    kind = rng.choice([*TYPES, junk_value(rng)])
    msg: dict[str, Any] = {"type": kind}
    for key in rng.sample(["v", "name", "dir", "channel", "text", "room", "mode", "t"], 3):
        msg[key] = junk_value(rng)
    if kind in ("quick_play", "create"):
        msg["mode"] = rng.choice([7, "chess", [], "ARENA"])  # never a real mode
    if kind == "join":
        msg["room"] = "0!" + str(msg.get("room"))[:8]  # never a real room code
    if kind == "chat":
        msg["text"] = rng.choice([None, 5, [], {}])  # a valid line would be broadcast
    if kind == "hello":
        msg["v"] = 1
    return json.dumps(msg)


def valid_message(rng: random.Random) -> str:
    return json.dumps(
        rng.choice(
            [
                {"type": "ping", "t": rng.random()},
                {"type": "input", "dir": "up"},
                {"type": "hello", "v": 1, "name": "Zed"},
                {"type": "keyframe"},
                {"type": "leave"},
            ]
        )
    )


def frame(rng: random.Random) -> str | bytes:
    """One hostile frame that must draw exactly one reply."""
    pick = rng.randrange(11)
    if pick == 0:  # random bytes where text is expected (sent as a binary frame)
        return rng.randbytes(rng.randrange(1, 64))
    if pick == 1:  # random text
        return "".join(chr(rng.randrange(1, 0xD7FF)) for _ in range(rng.randrange(1, 80)))
    if pick == 2:  # truncated
        text = valid_message(rng)
        return text[: rng.randrange(1, len(text))]
    if pick == 3:  # malformed: a byte of a real message replaced
        text = valid_message(rng)
        i = rng.randrange(len(text))
        return text[:i] + rng.choice('{}[]",:\\x0') + text[i + 1 :]
    if pick == 4:
        return wrong_types(rng)
    if pick == 5:  # huge numbers
        digits = rng.choice([30, 400, 4000])
        big = str(rng.randrange(1, 9)) * min(digits, MAX_MESSAGE - 40)
        return rng.choice(
            [
                '{"type":"ping","t":' + big + "}",
                '{"type":"hello","v":' + big + ',"name":"Ada"}',
                '{"type":"ping","t":1e' + big[:6] + "}",
                '{"type":"ping","t":-' + big + ".5}",
            ]
        )
    if pick == 6:  # deep nesting, inside and outside a message
        depth = rng.choice([100, 1000, 1025, 2000])
        nested = "[" * depth + "]" * depth
        return rng.choice([nested, '{"type":"ping","t":' + nested + "}", '{"a":' * 500])
    if pick == 7:  # unknown types
        return json.dumps({"type": rng.choice(["jump", "", "__proto__", "x" * 300, "pïng"])})
    if pick == 8:  # JSON where the binary intent is expected
        return valid_message(rng).encode()
    if pick == 9:  # near-misses of the binary intent
        return rng.choice([b"", b"\x10", b"\x10\x04", b"\x10\x00\x00", b"\x11\x00", b"\xff" * 3])
    return valid_message(rng)  # the odd valid frame must be answered normally too


def closing_frame(rng: random.Random) -> tuple[str | bytes, bool, tuple[int, ...]]:
    """A frame the server must close on: (payload, send as text, allowed close codes)."""
    pick = rng.randrange(4)
    if pick == 0:  # over our limit, under the library's: an error, then 1009
        return "x" * rng.randrange(MAX_MESSAGE + 1, LIBRARY_MAX), True, (1009,)
    if pick == 1:  # over the library's limit: 1009 straight away
        return b"\x00" * (LIBRARY_MAX + rng.randrange(1, 50_000)), False, (1009,)
    if pick == 2:  # a text frame that is not UTF-8
        bad = rng.choice([b"\xff\xfe", b"\xc3\x28", b'{"type":"\xed\xa0\x80"}', b"\xf8\x88"])
        return bad, True, (1007,)
    return "y" * (MAX_MESSAGE + 1), False, (1009,)  # oversized binary


def check_reply(raw: str | bytes, totals: Totals) -> dict[str, Any] | None:
    if isinstance(raw, bytes):
        totals.problem(f"binary reply in the lobby: {raw[:20]!r}")
        return None
    if looks_like_a_trace(raw):
        totals.problem(f"internals in a reply: {raw[:200]}")
    msg: dict[str, Any] = json.loads(raw)
    if msg.get("type") == "error":
        code = msg.get("code")
        totals.codes[str(code)] += 1
        if code not in KNOWN_CODES or not isinstance(msg.get("message"), str):
            totals.problem(f"unexpected error reply: {raw[:200]}")
    return msg


async def session(
    ws: ClientConnection, rng: random.Random, quota: int, rate: float, totals: Totals
) -> int:
    """Fuzz one connection for up to `quota` frames at about `rate` frames per second;
    return how many were sent."""
    sent = 0
    marker = 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    while sent < quota:
        ahead = started + sent / rate - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
        if rng.random() < 0.03:
            payload, as_text, codes = closing_frame(rng)
            with contextlib.suppress(ConnectionClosed):
                await ws.send(payload, text=as_text)
            sent += 1
            totals.frames += 1
            try:
                async for raw in ws:
                    msg = check_reply(raw, totals)
                    if msg is not None and msg.get("type") == "error":
                        totals.replies += 1
            except ConnectionClosed:
                pass
            code = ws.close_code
            totals.closes[str(code)] += 1
            if code not in codes:
                totals.problem(f"close {code} ({ws.close_reason!r}) for {payload[:30]!r}")
            return sent
        batch = [frame(rng) for _ in range(min(BATCH, quota - sent))]
        for payload in batch:
            await ws.send(payload)
        sent += len(batch)
        totals.frames += len(batch)
        marker += 1
        await ws.send(json.dumps({"type": "ping", "t": -marker}))
        got = 0
        kinds: list[str] = []
        while True:
            msg = check_reply(await asyncio.wait_for(ws.recv(), 30), totals)
            if msg is None or msg.get("type") in ("rooms", "chat", "history", "welcome"):
                continue  # lobby traffic, not a reply
            if msg.get("type") == "pong" and msg.get("t") == -marker:
                break
            got += 1
            kinds.append(str(msg.get("code") or msg.get("type")))
        totals.replies += got
        if got != len(batch):
            totals.problem(f"{len(batch)} frames drew {got} replies: {Counter(kinds)}")
    return sent


async def connection_loop(
    port: int, rng: random.Random, quota: int, rate: float, totals: Totals
) -> None:
    while quota > 0:
        async with connect(
            f"ws://127.0.0.1:{port}/ws", compression=None, max_size=None, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "v": 1, "name": "Fuzz"}))
            while True:
                first = json.loads(await ws.recv())
                if first["type"] == "welcome":
                    break
            quota -= await session(ws, rng, quota, rate, totals)


async def main(port: int, conns: int, frames: int, seed: int, rate: float) -> Totals:
    totals = Totals()
    per = frames // conns
    tasks = [
        connection_loop(port, random.Random(seed * 1000 + i), per, rate / conns, totals)
        for i in range(conns)
    ]
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            totals.problem(f"connection failed: {type(result).__name__}: {result}")
    return totals


if __name__ == "__main__":
    port, conns, frames, seed = (int(a) for a in sys.argv[1:5])
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 1e9  # frames per second, all conns
    os.nice(10)  # the attacker's CPU is not the server's: let the server run first
    t = asyncio.run(main(port, conns, frames, seed, rate))
    print(
        json.dumps(
            {
                "frames": t.frames,
                "replies": t.replies,
                "closes": t.closes,
                "codes": t.codes,
                "problems": t.problems,
            }
        )
    )
