"""One load bot: a lean websocket client on a raw asyncio protocol that plays like a person.

Thousands of these share one core, so the client is hand-rolled on `asyncio.Protocol` (frame
parsing in `data_received`, no task per connection) rather than built on `websockets`, which would
make the bots, not the server, the bottleneck. A bot says hello, quick-plays an arena room, asks
to start once the room is full, steers toward pellets at junctions (a few intents per second,
sent only when the wanted direction changes), reverses now and then (which the game applies at
once, so it doubles as a latency probe), and chats every half minute or so.

Timestamps come from `time.perf_counter()`: uvloop's `loop.time()` ticks in whole milliseconds,
too coarse for lateness measured against a 5 ms bar.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from array import array
from typing import TYPE_CHECKING, Any, cast

from bench import wire

if TYPE_CHECKING:
    from bench.fleet import Fleet

PROBE_PENDING = -2  # a reversal probe is scheduled but not sent yet
MIN_INTENT_GAP_S = 0.25  # people manage about four deliberate turns a second at most
CHAT_LINES = ("gg", "nice", "watch out", "lol", "so close", "who ate my dot", "again?", "go go")


class Bot(asyncio.Protocol):
    """One connection; counts everything it receives while the fleet is measuring."""

    def __init__(self, fleet: Fleet, index: int, port: int | None = None) -> None:
        self.fleet = fleet
        self.index = index
        self.port = fleet.port if port is None else port
        self.party = -1  # with `FleetOptions.parties`: the party's number (set by the fleet)
        self.leads_party = False
        self.rng = random.Random(fleet.seed * 100_003 + index)
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.closed = False
        self.t_connect = 0.0
        self.t_joined = 0.0
        self.welcomed = False
        self.joined = False
        self.you: int | None = None
        self.room = ""
        self.room_state = ""
        self.maze: wire.Maze | None = None
        self.pellets = 0
        # Steering.
        self.tile: tuple[int, int] | None = None
        self.wanted = -1
        self.last_intent = 0.0
        self.next_probe = 0.0
        self.probe_dir = -1
        self.probe_t = 0.0
        self.next_chat = 0.0
        self.start_sent = False
        # Counters for the measurement window.
        self.frames = 0
        self.w_frames = 0
        self.w_expected = 0
        self.w_last_seq = -1
        self.w_bytes_in = 0
        self.w_bytes_out = 0
        self.w_intents = 0
        self.w_chats = 0
        self.frame_bytes = 0
        self.s_t = array("d")
        self.s_f = array("q")

    # -- transport -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here
        self.transport = cast(asyncio.Transport, transport)
        self.t_connect = time.perf_counter()
        key = self.rng.randbytes(16)
        f = self.fleet
        self.transport.write(wire.handshake_request(f.host, self.port, f.path, key, f.origin))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.fleet.stopping:
            self.fleet.count_error("closed")

    def data_received(self, data: bytes) -> None:
        if self.fleet.measuring:
            self.w_bytes_in += len(data)
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[: buf.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self.fleet.count_error("handshake")
                self.buf = b""
                self.close()
                return
            self.upgraded = True
            buf = buf[end + 4 :]
            self.send_json({"type": "hello", "v": 1, "name": f"bot{self.index}"})
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            payload = buf[pos + head : pos + head + length]
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == wire.OP_BINARY:
                self.on_binary(payload)
            elif opcode == wire.OP_TEXT:
                self.on_text(payload)
            elif opcode == wire.OP_PING:
                self.send_frame(wire.OP_PONG, payload)
            elif opcode == wire.OP_CLOSE:
                if not self.fleet.stopping:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                    self.fleet.count_error(f"close_{code}")
                self.send_frame(wire.OP_CLOSE, payload[:2])
                self.close()
                return
        self.buf = buf[pos:] if pos < n else b""

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        frame = wire.encode_client_frame(opcode, payload, self.rng.randbytes(4))
        if self.fleet.measuring:
            self.w_bytes_out += len(frame)
        self.transport.write(frame)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(wire.OP_TEXT, json.dumps(message, separators=(",", ":")).encode())

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- protocol messages -----------------------------------------------------------------

    def on_text(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            self.fleet.count_error("bad_text")
            return
        if kind == "welcome":
            self.welcomed = True
            self.fleet.note_rates(message)
            if self.fleet.behaviour != "idle":
                self.find_room()
        elif kind == "joined":
            self.on_joined(message)
        elif kind == "roster":
            players = message.get("players") or []
            if len(players) >= self.fleet.room_size and self.room_state == "waiting":
                self.ask_start()
        elif kind == "room_state":
            self.room_state = str(message.get("state", ""))
            if self.room_state == "over":
                self.fleet.loop.call_later(1.0, self.requeue)
        elif kind == "left":
            self.joined = False
            self.send_json({"type": "quick_play", "mode": "arena"})
        elif kind == "error" and self.party >= 0 and message.get("code") == "room_not_found":
            # The party's room was made on another process and its announcement is still on
            # the way (milliseconds): ask again shortly.
            self.fleet.join_retries += 1
            self.fleet.loop.call_later(0.1, self.find_room)
        elif kind == "error" and message.get("ref") != "start":
            # racing start requests are expected; anything else is counted
            self.fleet.count_error(f"error_{message.get('code')}")

    def find_room(self) -> None:
        """Quick play; in a party, the leader creates the room and the others join it by code."""
        if self.closed or self.fleet.stopping:
            return
        if self.party < 0:
            self.send_json({"type": "quick_play", "mode": "arena"})
        elif self.leads_party:
            self.send_json({"type": "create", "mode": "arena"})
        elif self.party in self.fleet.party_rooms:
            self.send_json({"type": "join", "room": self.fleet.party_rooms[self.party]})
        else:  # the leader's room is not made yet
            self.fleet.loop.call_later(0.05, self.find_room)

    def on_joined(self, message: dict[str, Any]) -> None:
        now = time.perf_counter()
        if not self.joined and self.t_joined == 0.0:
            self.t_joined = now
            self.fleet.join_times.append(now - self.t_connect)
        self.joined = True
        self.you = message.get("you")
        self.room = str(message.get("room", ""))
        self.room_state = str(message.get("state", ""))
        rows = message.get("maze") or []
        self.maze = self.fleet.maze_for(tuple(rows)) if rows else None
        self.tile = None
        self.wanted = -1
        self.w_last_seq = -1
        self.s_f.append(-1)  # a new room starts a new lateness segment
        self.s_t.append(now)
        self.next_probe = now + self.rng.uniform(1.0, 4.0)
        self.next_chat = now + self.rng.uniform(5.0, 2 * self.fleet.chat_every_s)
        if self.leads_party and self.you is not None:
            self.fleet.party_rooms[self.party] = self.room
        if self.room_state == "waiting":
            self.fleet.loop.call_later(self.fleet.start_after_s, self.ask_start)

    def ask_start(self) -> None:
        if self.joined and self.room_state == "waiting" and not self.start_sent:
            self.start_sent = True
            self.send_json({"type": "start"})

    def requeue(self) -> None:
        if self.joined and self.room_state == "over" and not self.fleet.stopping:
            self.start_sent = False
            self.send_json({"type": "leave"})

    # -- state frames ----------------------------------------------------------------------

    def on_binary(self, data: bytes) -> None:
        if len(data) < wire.HEADER_SIZE:
            self.fleet.count_error("short_frame")
            return
        self.frames += 1
        now = time.perf_counter()
        seq = data[2] | data[3] << 8
        frame = int.from_bytes(data[4:8], "little")
        if self.fleet.measuring:
            if self.w_last_seq < 0:
                self.w_expected += 1
                self.w_frames += 1
            else:
                step = (seq - self.w_last_seq) & 0xFFFF
                if step:  # a repeated seq (a keyframe on request) is not a new frame
                    self.w_expected += step
                    self.w_frames += 1
            self.w_last_seq = seq
            self.frame_bytes += len(data)
            if data[9] != wire.PHASE_GAME_OVER:
                self.s_t.append(now)
                self.s_f.append(frame)
        if data[0] == wire.KEYFRAME and self.maze is not None:
            self.pellets = wire.keyframe_pellets(data) or 0
        if self.you is not None and self.maze is not None and self.fleet.behaviour == "play":
            self.steer(data, now)

    def steer(self, data: bytes, now: float) -> None:
        record = wire.own_record(data, self.you if self.you is not None else -1)
        if record is None:
            return
        x, y, direction, state = record
        if self.probe_dir != -1 and (data[9] != wire.PHASE_PLAYING or state != 0):
            self.probe_dir = -1  # frozen, dying or between levels: turns wait; not a sample
        if self.probe_dir != -1:
            if direction == self.probe_dir:
                if self.fleet.measuring:
                    self.fleet.latencies.append(now - self.probe_t)
                self.probe_dir = -1
            elif now - self.probe_t > 1.0:
                self.probe_dir = -1  # turned again by the game (a wall); not a sample
        if now >= self.next_chat:
            self.next_chat = now + self.rng.uniform(0.5, 1.5) * self.fleet.chat_every_s
            text = self.rng.choice(CHAT_LINES)
            self.send_json({"type": "chat", "channel": "room", "text": text})
            if self.fleet.measuring:
                self.w_chats += 1
        if state != 0 or now - self.last_intent < MIN_INTENT_GAP_S:
            return
        tile = (x // 8, y // 8)
        if tile == self.tile or self.maze is None:
            return
        self.tile = tile
        exits = self.maze.exits(tile)
        if not exits:
            return
        back = (direction + 2) % 4
        if now >= self.next_probe and back in exits and self.probe_dir == -1:
            # Sent at a random moment between frames, as a person's key press would be; sent
            # straight from this frame's arrival it would always wait one full send interval.
            self.next_probe = now + self.rng.uniform(2.0, 6.0)
            self.probe_dir = PROBE_PENDING
            self.probe_t = now
            delay = self.rng.uniform(0.0, 0.9 / self.fleet.send_hz)
            self.fleet.loop.call_later(delay, self.fire_probe, back)
            return
        if len(exits) < 3 and direction in exits:
            return  # a corridor: nothing to decide
        choices = [d for d in exits if d != back] or exits
        if self.rng.random() < 0.8 and self.pellets:
            scored = [(self.maze.pellets_ahead(tile, d, self.pellets, 8), d) for d in choices]
            best = max(s for s, _ in scored)
            choice = self.rng.choice([d for s, d in scored if s == best])
        else:
            choice = self.rng.choice(choices)
        if choice != self.wanted:
            self.intent(choice, now)

    def fire_probe(self, direction: int) -> None:
        if self.closed or self.probe_dir != PROBE_PENDING:
            return
        now = time.perf_counter()
        self.probe_dir = direction
        self.probe_t = now
        self.intent(direction, now)

    def intent(self, direction: int, now: float) -> None:
        self.wanted = direction
        self.last_intent = now
        self.send_frame(wire.OP_BINARY, wire.encode_intent(direction))
        if self.fleet.measuring:
            self.w_intents += 1


def pin_to(cpu: int | None) -> None:
    """Pin this process to one core (a no-op where affinity is not supported)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
