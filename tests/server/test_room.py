"""Room logic driven by the scheduler on a fake clock: no sockets, no sleeping."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from server import protocol
from server.chat import ChatLimiter, MemoryChatHistory
from server.config import Config
from server.game.view import Direction, Mode
from server.metrics import STATS
from server.rooms import Registry
from server.scheduler import Scheduler


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class RecordingPeer:
    """A connection stand-in that records what a room sends; `full` simulates a stuck client."""

    def __init__(self) -> None:
        self.owes_keyframe = True
        self.chat_limiter = ChatLimiter(5, 0.0)
        self.texts: list[dict[str, Any]] = []
        self.states: list[protocol.DecodedFrame] = []
        self.full = False
        self.closed: tuple[int, str] | None = None

    def send_text(self, data: str) -> None:
        self.texts.append(protocol.decode(data))

    def send_state(self, frame: bytes) -> bool:
        if self.full:
            return False
        payload = frame[2:] if frame[1] < 126 else frame[4:]
        self.states.append(protocol.decode_state(payload))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.texts if m["type"] == kind]


class World:
    def __init__(self, **overrides: Any) -> None:
        self.config = dataclasses.replace(Config(countdown_s=3.0), **overrides)
        self.clock = Clock()
        self.scheduler = Scheduler(self.config.tick_hz, self.clock)
        self.registry = Registry(self.config, self.scheduler, MemoryChatHistory(50))

    def run(self, seconds: float) -> None:
        """Advance the fake clock in 1/60 s steps, running due ticks as the event loop would."""
        for _ in range(round(seconds * 60)):
            self.clock.t += 1 / 60
            self.scheduler.run_due()


@pytest.fixture
def world() -> World:
    return World()


def test_countdown_then_play(world: World) -> None:
    room = world.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    room.join(a, "Ada", spectate=False)
    world.run(1.0)
    assert room.state == "waiting"
    room.join(b, "Bob", spectate=False)
    assert room.state == "countdown"
    world.run(3.2)
    counts = [m["countdown"] for m in a.of("room_state") if m["state"] == "countdown"]
    assert counts == [3, 2, 1]
    assert a.of("room_state")[-1] == {"type": "room_state", "state": "playing"}
    frames = [f.frame for f in a.states]
    assert frames[-1] > frames[0]


def test_countdown_is_cancelled_when_a_player_leaves(world: World) -> None:
    room = world.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    room.join(a, "Ada", spectate=False)
    room.join(b, "Bob", spectate=False)
    world.run(1.0)
    room.leave(b)
    assert room.state == "waiting"
    world.run(3.0)
    assert room.state == "waiting"


def test_state_frames_at_the_send_rate_with_periodic_keyframes(world: World) -> None:
    room = world.registry.create(Mode.CLASSIC, private=False)
    a = RecordingPeer()
    room.join(a, "Ada", spectate=False)
    world.run(5.0)
    assert 99 <= len(a.states) <= 101  # 20 Hz for 5 s
    kinds = [f.kind for f in a.states]
    assert kinds[0] == protocol.KEYFRAME
    keyframes = [i for i, k in enumerate(kinds) if k == protocol.KEYFRAME]
    assert len(keyframes) == 3  # on join, then every 2 s
    assert keyframes[2] - keyframes[1] == 40


def test_a_stuck_client_skips_frames_then_gets_a_keyframe(world: World) -> None:
    room = world.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    room.join(a, "Ada", spectate=False)
    room.join(b, "Bob", spectate=False)
    world.run(0.5)
    b.full = True
    world.run(0.5)
    got = len(b.states)
    b.full = False
    world.run(0.1)
    assert b.states[got].kind == protocol.KEYFRAME  # resynced, not a delta after a gap
    assert all(f.kind == protocol.DELTA for f in a.states[1:])  # the healthy client unaffected
    seqs = [f.seq for f in a.states]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_intents_apply_at_the_next_frame_and_flooding_buys_nothing(world: World) -> None:
    room = world.registry.create(Mode.CLASSIC, private=False)
    a = RecordingPeer()
    room.join(a, "Ada", spectate=False)
    world.run(3.0 + 1.5)  # countdown, then the READY pause
    for _ in range(100):
        room.input(a, Direction.LEFT, 0.0)
        room.input(a, Direction.RIGHT, 0.0)
    room.input(a, Direction.LEFT, 0.0)  # only the last wanted direction counts
    world.run(0.5)
    xs = [f.players[0].x for f in a.states[-10:]]
    assert xs == sorted(xs, reverse=True) and xs[0] > xs[-1]
    speed = (xs[0] - xs[-1]) / (9 / 20)
    assert speed < 90  # arcade speed is ~75 px/s: a hundred intents did not make it faster


def test_an_intent_is_timed_until_the_first_frame_after_the_step_that_applied_it(
    world: World,
) -> None:
    room = world.registry.create(Mode.CLASSIC, private=False)
    a = RecordingPeer()
    room.join(a, "Ada", spectate=False)
    room.input(a, Direction.LEFT, time.monotonic())  # before play: nothing to time
    world.run(3.0 + 1.5)  # countdown, then the READY pause
    timed = STATS.intent_to_frame.counts.copy()
    room.input(a, Direction.UP, time.monotonic() - 0.004)
    room.input(a, Direction.LEFT, time.monotonic() - 0.004)
    assert STATS.intent_to_frame.counts == timed  # not sent yet
    frames_before = len(a.states)
    world.run(1 / 60)
    if len(a.states) == frames_before:  # that frame was not a send tick: not yet timed
        assert STATS.intent_to_frame.counts == timed
        world.run(3 / 60)
    assert len(a.states) > frames_before
    added = [n - m for n, m in zip(STATS.intent_to_frame.counts, timed, strict=True)]
    assert sum(added) == 2
    first = next(i for i, n in enumerate(added) if n)
    assert STATS.intent_to_frame.bounds[first] >= 0.004  # measured from the arrival given
    world.run(1.0)
    assert sum(STATS.intent_to_frame.counts) - sum(timed) == 2  # each intent timed once


def test_game_over_then_waiting_again(world: World) -> None:
    w = World(game_over_hold_s=2.0, countdown_s=0.0)
    room = w.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    room.join(a, "Ada", spectate=False)
    room.join(b, "Bob", spectate=False)
    w.run(2.0)
    room.leave(b)  # the last standing wins
    w.run(0.2)
    over = a.of("game_over")
    assert over and over[0]["winner"] == 0
    assert any(m["text"] == "Ada wins!" for m in a.of("chat"))
    assert room.state == "over"
    w.run(2.0)
    assert room.state == "waiting"
    assert a.states[-1].frame < 10  # a fresh game


def test_a_failing_room_tells_its_players_and_closes(world: World) -> None:
    bad = world.registry.create(Mode.CLASSIC, private=False)
    good = world.registry.create(Mode.CLASSIC, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    bad.join(a, "Ada", spectate=False)
    good.join(b, "Bob", spectate=False)
    world.run(3.5)

    def broken() -> None:
        raise RuntimeError("simulated core bug")

    bad.arena.step = broken  # type: ignore[method-assign]
    world.run(0.2)
    assert a.of("error")[-1]["code"] == "internal"
    assert "simulated" not in a.of("error")[-1]["message"]
    assert a.closed is not None and a.closed[0] == 1011
    assert bad.code not in world.registry.rooms and bad.code not in world.scheduler.rooms
    before = len(b.states)
    world.run(0.5)
    assert len(b.states) >= before + 9  # the other room keeps ticking


def test_grace_period_on_the_room_clock(world: World) -> None:
    w = World(reconnect_grace_s=10.0)
    room = w.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    seat = room.join(a, "Ada", spectate=False)
    room.join(b, "Bob", spectate=False)
    assert seat is not None
    w.registry.register_seat(room, seat)
    room.disconnect(a)
    w.run(9.0)
    assert w.registry.seat_for(seat.token) is not None
    w.run(1.1)
    assert w.registry.seat_for(seat.token) is None
    assert [p["id"] for p in b.of("roster")[-1]["players"]] == [1]


def test_joining_during_game_over_seats_you_for_the_next_game() -> None:
    w = World(game_over_hold_s=1.0, countdown_s=0.0)
    room = w.registry.create(Mode.ARENA, private=False)
    a, b, c = RecordingPeer(), RecordingPeer(), RecordingPeer()
    room.join(a, "Ada", spectate=False)
    room.join(b, "Bob", spectate=False)
    w.run(1.0)
    room.leave(b)
    w.run(0.1)
    assert room.state == "over"
    seat = room.join(c, "Cy", spectate=False)
    assert seat is not None and seat.id == 1
    w.run(1.2)
    assert room.state in ("countdown", "playing")
    assert {p.id for p in c.states[-1].players} == {0, 1}


def test_the_lobby_room_list_is_throttled_to_once_a_second(world: World) -> None:
    watcher = RecordingPeer()
    world.registry.enter_lobby(watcher)
    assert len(watcher.of("rooms")) == 1  # on entering
    for _ in range(30):  # a burst of changes: rooms opening and players joining
        room = world.registry.create(Mode.ARENA, private=False)
        room.join(RecordingPeer(), "x", spectate=False)
        world.run(0.1)
    lists = watcher.of("rooms")
    assert 3 <= len(lists) <= 5  # 3 s of changes: about one list a second, not thirty
    world.run(1.1)
    assert len(watcher.of("rooms")[-1]["rooms"]) == 30
    before = len(watcher.of("rooms"))
    world.run(3.0)
    assert len(watcher.of("rooms")) == before  # nothing changed: nothing sent


def test_lobby_entrants_share_the_list_built_last_for_up_to_a_second(world: World) -> None:
    """Players streaming back into a busy lobby do not each cost a list of every room."""
    room = world.registry.create(Mode.ARENA, private=False)
    room.join(RecordingPeer(), "x", spectate=False)
    first, second = RecordingPeer(), RecordingPeer()
    world.registry.enter_lobby(first)
    world.run(0.1)  # the lobby's list goes out
    room.join(RecordingPeer(), "y", spectate=False)
    world.run(0.4)
    world.registry.enter_lobby(second)
    assert second.of("rooms")[-1] == first.of("rooms")[-1]  # the list from before the join
    assert second.of("rooms")[-1]["rooms"][0]["players"] == 1
    world.run(0.6)  # and within the second, the fresh list the lobby gets
    for peer in (first, second):
        assert peer.of("rooms")[-1]["rooms"][0]["players"] == 2


def test_an_empty_lobby_builds_no_list_and_the_next_entrant_gets_a_fresh_one(world: World) -> None:
    room = world.registry.create(Mode.ARENA, private=False)
    room.join(RecordingPeer(), "x", spectate=False)
    early, late = RecordingPeer(), RecordingPeer()
    world.registry.enter_lobby(early)
    world.registry.leave_lobby(early)
    room.join(RecordingPeer(), "y", spectate=False)
    world.run(1.1)  # nobody in the lobby: the change waits
    world.registry.enter_lobby(late)
    assert late.of("rooms")[-1]["rooms"][0]["players"] == 2
