"""A fleet of bots in one process: connect at a set rate, measure a window, print a summary.

Run as `python -m bench bots ...` by the runner (one process pinned to the bots' core). Clocks:
the runner passes wall-clock instants (`start_at`, `measure_at`), so several bot processes and the
server-side probes agree on the window; inside, everything uses the loop's monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench import wire
from bench.bot import Bot, pin_to
from bench.stats import lateness_ms, percentiles


@dataclass(frozen=True)
class FleetOptions:
    """What one bot process does."""

    host: str = "127.0.0.1"
    port: int = 8000
    # With several ports, connection i goes to ports[i % len(ports)], as a round-robin load
    # balancer in front of several server processes would deal them; empty means `port` alone.
    ports: tuple[int, ...] = ()
    path: str = "/ws"
    origin: str = ""
    count: int = 8
    rate: float = 500.0  # connections opened per second
    behaviour: str = "play"  # play | silent (join, send nothing) | idle (hello only, stay in lobby)
    start_at: float = 0.0  # wall clock; 0 = now
    measure_at: float = 0.0  # wall clock; 0 = when everyone is connected
    window_s: float = 5.0
    chat_every_s: float = 30.0
    start_after_s: float = 2.0
    room_size: int = 8
    # False: every bot quick-plays. True: bots come in parties of `room_size` consecutive
    # connections, as friends sharing a room's link: one creates the room, the others join it by
    # code. The leader's place moves along from party to party, so with several ports the rooms'
    # owners are spread over the processes.
    parties: bool = False
    seed: int = 1
    cpu: int | None = None
    progress: bool = True


class Fleet:
    """The shared state of one process's bots."""

    def __init__(self, options: FleetOptions, loop: asyncio.AbstractEventLoop) -> None:
        self.options = options
        self.loop = loop
        self.host, self.port, self.path = options.host, options.port, options.path
        self.ports = tuple(options.ports) or (options.port,)  # JSON hands the tuple over as a list
        self.origin = options.origin
        self.behaviour = options.behaviour
        self.chat_every_s = options.chat_every_s
        self.start_after_s = options.start_after_s
        self.room_size = options.room_size
        self.seed = options.seed
        self.tick_hz = 60
        self.send_hz = 20
        self.bots: list[Bot] = []
        self.errors: Counter[str] = Counter()
        self.join_times: list[float] = []
        self.latencies: list[float] = []
        self.party_rooms: dict[int, str] = {}  # party -> the code of the room its leader made
        self.join_retries = 0
        self.measuring = False
        self.stopping = False
        self._mazes: dict[tuple[str, ...], wire.Maze] = {}

    def count_error(self, what: str) -> None:
        self.errors[what] += 1

    def note_rates(self, welcome: dict[str, Any]) -> None:
        self.tick_hz = int(welcome.get("tick_hz", self.tick_hz))
        self.send_hz = int(welcome.get("send_hz", self.send_hz))

    def maze_for(self, rows: tuple[str, ...]) -> wire.Maze:
        maze = self._mazes.get(rows)
        if maze is None:
            maze = self._mazes[rows] = wire.Maze(list(rows))
        return maze

    async def connect_all(self) -> None:
        """Open `count` connections, spread evenly at `rate` per second."""
        gap = 1.0 / self.options.rate if self.options.rate > 0 else 0.0
        begin = self.loop.time()
        pending: set[asyncio.Task[None]] = set()
        for index in range(self.options.count):
            due = begin + index * gap
            delay = due - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = self.loop.create_task(self._connect(index))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)

    def port_for(self, index: int) -> int:
        """The port connection `index` goes to: the ports in turn."""
        return self.ports[index % len(self.ports)]

    def leader_of(self, party: int) -> int:
        """The connection index that creates `party`'s room: one place further each party."""
        size = min(self.room_size, self.options.count - party * self.room_size)  # last may be short
        return party * self.room_size + party % size

    async def _connect(self, index: int) -> None:
        port = self.port_for(index)
        try:
            await self.loop.create_connection(lambda: self._new_bot(index, port), self.host, port)
        except OSError as exc:
            self.count_error(f"connect_{type(exc).__name__}")

    def _new_bot(self, index: int, port: int) -> Bot:
        bot = Bot(self, index + self.options.seed * 1_000_000, port)
        if self.options.parties:
            bot.party = index // self.room_size
            bot.leads_party = index == self.leader_of(bot.party)
        self.bots.append(bot)
        return bot

    def snapshot(self) -> dict[str, int]:
        return {
            "open": sum(1 for b in self.bots if not b.closed),
            "welcomed": sum(1 for b in self.bots if b.welcomed),
            "joined": sum(1 for b in self.bots if b.joined),
            "frames": sum(b.frames for b in self.bots),
        }

    def summary(self, window_s: float, cpu_s: float, t0: float) -> dict[str, Any]:
        """Everything measured in the window, as plain numbers."""
        o = self.options
        in_room = [b for b in self.bots if b.w_expected > 0]
        ratios = sorted(min(1.0, b.w_frames / b.w_expected) for b in in_room)
        expected_by_clock = window_s * self.send_hz
        rate_ratios = sorted(b.w_frames / expected_by_clock for b in in_room)
        late = lateness_ms([(b.s_t, b.s_f) for b in self.bots], self.tick_hz, t0)
        frames = sum(b.w_frames for b in self.bots)
        n = max(1, len(self.bots))
        snap = self.snapshot()
        joined_by_port = Counter(str(b.port) for b in self.bots if b.joined)
        seated = sum(1 for b in self.bots if b.you is not None)
        # A target that seats nobody (the ceiling gives no seats) has no unseated bots to explain.
        unseated = [f"{b.port}:{b.room}:{b.room_state}" for b in self.bots if b.you is None][:10]
        ports_by_room: dict[str, set[int]] = {}
        for b in self.bots:
            if b.joined and b.room:
                ports_by_room.setdefault(b.room, set()).add(b.port)
        result = {
            "count": o.count,
            "behaviour": o.behaviour,
            "connected": len(self.bots),
            **snap,
            "errors": dict(self.errors),
            "error_total": sum(self.errors.values()),
            "window_s": round(window_s, 3),
            "tick_hz": self.tick_hz,
            "send_hz": self.send_hz,
            "clients_in_rooms": len(in_room),
            "joined_by_port": dict(sorted(joined_by_port.items())),
            # Whose latest join got a seat, not a spectator's place: a bot between two games
            # (left one, its quick play for the next on the way) counts by the seat it had.
            "seated": seated,
            # where a few of the unseated ones are, to find out why they have no seat
            "unseated": unseated if seated else [],
            "join_retries": self.join_retries,
            "rooms": len(ports_by_room),
            # rooms whose players came in through more than one port (relayed, in a cluster)
            "rooms_across_ports": sum(1 for ports in ports_by_room.values() if len(ports) > 1),
            "frame_ratio": percentiles(ratios, (0, 1, 50)),
            "clients_below_99": sum(1 for r in ratios if r < 0.99),
            "clock_ratio": percentiles(rate_ratios, (0, 1, 50)),
            "frames_in_window": frames,
            "frame_bytes_mean": (sum(b.frame_bytes for b in self.bots) / frames) if frames else 0,
            "bytes_in_per_player_s": sum(b.w_bytes_in for b in self.bots) / n / window_s,
            "bytes_out_per_player_s": sum(b.w_bytes_out for b in self.bots) / n / window_s,
            "intents_per_player_s": sum(b.w_intents for b in self.bots) / n / window_s,
            "chats_per_player_s": sum(b.w_chats for b in self.bots) / n / window_s,
            "lateness_ms": late,
            "reversal_ms": percentiles(sorted(x * 1000 for x in self.latencies), (50, 99, 100)),
            "reversal_samples": len(self.latencies),
            "join_ms": percentiles(sorted(x * 1000 for x in self.join_times), (50, 99, 100)),
            "bot_cpu_pct": round(100 * cpu_s / window_s, 1),
        }
        if len(self.ports) > 1:
            split = {room for room, ports in ports_by_room.items() if len(ports) > 1}
            result["tick_by_owner"] = self._tick_by_owner(t0, split)
        return result

    def _tick_by_owner(self, t0: float, split: set[str]) -> dict[str, Any]:
        """Tick lateness from outside for each process, over the rooms it owns.

        Processes tick at phases of their own, so frames from all of them merged fill the gaps
        between one process's ticks and no tick stands out. A party's room is owned by the
        process its leader created it on; each room's earliest frames are the owner's own.
        A quick-play room is its players' own process's when they all came in there; the few
        rooms `split` over processes are left out (which one runs them is not known here).
        """
        series: dict[int, list[tuple[Any, Any]]] = {}
        for b in self.bots:
            if b.party >= 0:
                owner = self.port_for(self.leader_of(b.party))
            elif b.room not in split:
                owner = b.port
            else:
                continue
            series.setdefault(owner, []).append((b.s_t, b.s_f))
        return {
            str(port): lateness_ms(s, self.tick_hz, t0)["tick"]
            for port, s in sorted(series.items())
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_fleet(options: FleetOptions) -> dict[str, Any]:
    """Connect, wait for the window, measure it, close everything; return the summary."""
    loop = asyncio.get_running_loop()
    fleet = Fleet(options, loop)
    if options.start_at:
        await asyncio.sleep(max(0.0, options.start_at - time.time()))
    connecting = loop.create_task(fleet.connect_all())
    progress = loop.create_task(_progress(fleet)) if options.progress else None
    if options.measure_at:
        await asyncio.sleep(max(0.0, options.measure_at - time.time()))
    else:
        await connecting
    fleet.measuring = True
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    await asyncio.sleep(options.window_s)
    fleet.measuring = False
    window, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    fleet.stopping = True
    if not connecting.done():
        connecting.cancel()
    if progress is not None:
        progress.cancel()
    result = fleet.summary(window, cpu, t0)
    for bot in fleet.bots:
        bot.close()
    await asyncio.sleep(0.05)
    return result


async def _progress(fleet: Fleet) -> None:
    last = 0
    while True:
        await asyncio.sleep(1.0)
        snap = fleet.snapshot()
        tag = "measuring" if fleet.measuring else "warming"
        print(
            f"  [bots:{fleet.seed}] {tag} open={snap['open']} welcomed={snap['welcomed']} "
            f"joined={snap['joined']} frames/s={snap['frames'] - last} "
            f"errors={sum(fleet.errors.values())}",
            file=sys.stderr,
            flush=True,
        )
        last = snap["frames"]


def main(options: FleetOptions) -> None:
    """Entry point of a bot process: pin, pick the fastest loop, print the summary as JSON."""
    pin_to(options.cpu)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run_fleet(options))
    print(json.dumps(result), flush=True)
