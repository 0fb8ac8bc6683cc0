"""The bots' reading of the wire format and the lateness arithmetic, checked without sockets."""

from __future__ import annotations

import struct

from bench import wire
from bench.stats import lateness_ms, percentile

ROWS = [
    "#######",
    "#.. o.#",
    "#.###.#",
    "#.....#",
    "#######",
]


def unmask(frame: bytes) -> tuple[int, bytes]:
    length = frame[1] & 0x7F
    head = 2
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        head = 4
    mask = frame[head : head + 4]
    body = frame[head + 4 :]
    assert len(body) == length
    return frame[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(body))


def test_client_frames_are_masked_and_round_trip() -> None:
    mask = b"\x12\x34\x56\x78"
    for payload in (b"", b"\x10\x02", b"x" * 125, b"y" * 126, b"z" * 300):
        frame = wire.encode_client_frame(wire.OP_TEXT, payload, mask)
        assert frame[0] == 0x81 and frame[1] & 0x80
        assert unmask(frame) == (wire.OP_TEXT, payload)
    assert wire.encode_intent(wire.LEFT) == b"\x10\x02"


def test_handshake_offers_no_compression() -> None:
    request = wire.handshake_request("127.0.0.1", 8000, "/ws", b"k" * 16, "")
    assert request.startswith(b"GET /ws HTTP/1.1\r\n") and request.endswith(b"\r\n\r\n")
    assert b"Sec-WebSocket-Extensions" not in request and b"Origin" not in request


def state_frame(kind: int, players: list[tuple[int, int, int, int]], bitmap: bytes) -> bytes:
    head = struct.pack("<BBHIBBBBH", kind, 0, 7, 1234, 1, 1, 0, len(players), 0)
    body = b"".join(bytes((pid, x + 16, y - 24, bits)) for pid, x, y, bits in players)
    ghosts = bytes((1,)) + bytes((100, 100, 0))
    return head + body + ghosts + bytes((len(bitmap),)) + bitmap


def test_state_frame_fields() -> None:
    frame = state_frame(wire.KEYFRAME, [(0, 10, 30, 0), (3, 51, 92, 2 | 1 << 2)], b"\x05\x80")
    header = wire.parse_header(frame)
    assert (header.kind, header.seq, header.frame, header.n_players) == (1, 7, 1234, 2)
    assert wire.own_record(frame, 3) == (51, 92, 2, 1)
    assert wire.own_record(frame, 5) is None
    assert wire.keyframe_pellets(frame) == 0x8005
    assert wire.keyframe_pellets(frame[:-1]) is None


def test_maze_exits_and_pellets_ahead() -> None:
    maze = wire.Maze(ROWS)
    assert len(maze.pellet_index) == 11
    assert sorted(maze.exits((1, 1))) == [wire.RIGHT, wire.DOWN]
    assert maze.exits((3, 3)) == [wire.RIGHT, wire.LEFT]  # a corridor under a wall
    everything = (1 << 11) - 1
    assert maze.pellets_ahead((1, 1), wire.RIGHT, everything, 8) == 3  # (2,1) (4,1) (5,1)
    assert maze.pellets_ahead((1, 1), wire.RIGHT, everything & ~0b110, 8) == 1  # eaten
    assert maze.pellets_ahead((1, 1), wire.RIGHT, everything, 1) == 1


def test_lateness_is_excess_over_the_best_offset() -> None:
    tick = 60
    times = [10.0 + f / tick for f in range(0, 300, 3)]
    frames = list(range(0, 300, 3))
    times[50] += 0.004  # one frame 4 ms late
    result = lateness_ms([(times, frames)], tick)
    assert result["samples"] == 100
    assert abs(result["max"] - 4.0) < 1e-6
    assert result["p50"] < 1e-6


def test_lateness_restarts_at_a_new_room() -> None:
    tick = 60
    # Room one on a clock 1 s behind room two: each segment keeps its own baseline.
    times = [0.0, 1.0, 1.05, 5.0, 5.05, 5.1]
    frames = [-1, 0, 3, -1, 600, 603]
    times[1:3] = [1.0 + 0 / tick, 1.0 + 3 / tick]
    times[4:6] = [5.0 + 0 / tick, 5.0 + 3 / tick + 0.002]
    result = lateness_ms([(times, frames)], tick)
    assert result["samples"] == 4
    assert abs(result["max"] - 2.0) < 1e-6


def test_one_stalled_second_does_not_decide_the_per_second_p99() -> None:
    tick = 60
    frames = list(range(0, 600, 3))  # ten seconds at 20 Hz
    times = [100.0 + f / tick for f in frames]
    for i in range(40, 50):  # half a second of frames held up by a stall, 300 ms at worst
        times[i] += 0.3 - 0.03 * (i - 40)
    result = lateness_ms([(times, frames)], tick, t0=100.0)
    assert result["slices"] == 10
    assert result["p99"] > 200  # the window's p99 is the stall
    assert result["slice_p99"] < 1e-6  # most seconds were on time
    assert result["slice_p99_max"] > 200


def test_a_rebased_schedule_counts_as_late_for_one_second_only() -> None:
    tick = 60
    frames = list(range(0, 600, 3))  # ten seconds at 20 Hz
    times = [f / tick + (0.133 if i >= 100 else 0.0) for i, f in enumerate(frames)]
    result = lateness_ms([(times, frames)], tick, t0=0.0)
    assert abs(result["max"] - 133) < 1e-6  # the jump itself is seen
    assert result["slice_p99"] < 1e-6 and result["slice_p99_max"] > 100
    assert result["p90"] < 1e-6  # after a second the new schedule is the baseline


def test_tick_lateness_is_the_earliest_frame_of_each_tick() -> None:
    tick = 60
    frames = list(range(0, 300, 3))  # five seconds at 20 Hz
    series = []
    for conn in range(50):
        # Each tick's burst reaches the bots in a different order: up to 10 ms of drain.
        times = [10.0 + f / tick + ((conn * 7 + i * 13) % 50) / 5000 for i, f in enumerate(frames)]
        series.append((times, frames))
    for times, _ in series:  # tick 40 itself ran 6 ms late: every frame of it is late
        times[40] += 0.006
    result = lateness_ms(series, tick, t0=10.0)
    assert result["p99"] > 5  # delivery lateness carries the drain order
    tick_result = result["tick"]
    assert tick_result["ticks"] == 100
    assert 5.0 < tick_result["max"] <= 6.0  # the late tick is found (to the drain resolution)
    assert tick_result["p50"] < 0.5 and tick_result["slice_p99"] < 0.5


def test_percentile_nearest_rank() -> None:
    values = [float(i) for i in range(101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 0) == 0.0
    assert percentile([], 50) == 0.0
