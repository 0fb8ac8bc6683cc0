"""The fixed-step scheduler, driven by a fake clock: no drift, bounded catch-up, isolation."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.scheduler import Scheduler, SlowRoom


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Counter:
    key: str
    ticks: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    flushes: int = 0
    fail_at: int | None = None
    failure: BaseException | None = None

    def tick(self, n: int, now: float) -> None:
        if n == self.fail_at:
            raise RuntimeError("boom")
        self.ticks.append(n)
        self.times.append(now)

    def flush(self, n: int, now: float) -> None:
        self.flushes += 1

    def failed(self, exc: BaseException) -> None:
        self.failure = exc


def test_ticks_follow_the_clock_without_drift() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock)
    room = Counter("a")
    sched.add(room)
    # Wake-ups with jitter (a little late each time) for 10 simulated seconds.
    for i in range(600):
        clock.t = 1000.0 + i / 60 + 0.004 * (i % 3)
        sched.run_due()
    clock.t = 1010.0
    sched.run_due()
    assert room.ticks == list(range(601))
    # Scheduled times are exact multiples of the period from the start: no accumulated error.
    assert abs(room.times[600] - (1000.0 + 10.0)) < 1e-9


def test_a_late_wakeup_catches_up_by_stepping_then_flushes_once() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock, max_catch_up=10)
    room = Counter("a")
    sched.add(room)
    sched.run_due()  # tick 0
    clock.t += 5 / 60  # five periods late
    assert sched.run_due() == 5
    assert room.ticks == [0, 1, 2, 3, 4, 5]
    assert room.flushes == 2  # one per batch, not per tick


def test_falling_far_behind_drops_ticks_instead_of_speeding_up() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock, max_catch_up=10)
    room = Counter("a")
    sched.add(room)
    sched.run_due()
    clock.t += 2.0  # a two-second stall: 120 ticks due
    assert sched.run_due() == 10
    assert sched.dropped == 110
    assert room.ticks == list(range(11))  # tick numbers stay consecutive
    assert sched.run_due() == 0  # caught up: nothing more due until the clock moves
    clock.t += 1 / 60
    assert sched.run_due() == 1


def test_a_failing_room_is_removed_and_the_others_keep_ticking() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock)
    bad, good = Counter("bad", fail_at=3), Counter("good")
    sched.add(bad)
    sched.add(good)
    for i in range(10):
        clock.t = 1000.0 + i / 60
        sched.run_due()
    assert isinstance(bad.failure, RuntimeError)
    assert bad.ticks == [0, 1, 2]
    assert good.ticks == list(range(10))
    assert "bad" not in sched.rooms


async def test_run_sleeps_until_the_next_tick() -> None:
    clock = FakeClock()
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)
        clock.t += delay
        if len(sleeps) >= 30:
            sched.stop()

    sched = Scheduler(60, clock, fake_sleep)
    room = Counter("a")
    sched.add(room)
    await sched.run()
    assert room.ticks == list(range(30))
    assert all(abs(s - 1 / 60) < 1e-9 for s in sleeps)


@dataclass
class Sluggish(Counter):
    clock: FakeClock | None = None
    cost: float = 0.0

    def tick(self, n: int, now: float) -> None:
        super().tick(n, now)
        if self.clock is not None:
            self.clock.t += self.cost  # this room's tick "takes" cost seconds


def test_a_room_that_keeps_overrunning_its_budget_is_stopped() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock, room_budget_s=0.02, room_strikes=30)
    slow = Sluggish("slow", clock=clock, cost=0.05)
    good = Counter("good")
    sched.add(slow)
    sched.add(good)
    for _ in range(200):
        clock.t += 1 / 60
        sched.run_due()
    assert "slow" not in sched.rooms
    assert isinstance(slow.failure, SlowRoom) and "budget" in str(slow.failure)
    assert len(slow.ticks) == 30
    ran = len(good.ticks)
    for _ in range(60):
        clock.t += 1 / 60
        sched.run_due()
    assert len(good.ticks) == ran + 60  # once the runaway is gone, the others keep pace


def test_an_occasional_pause_is_forgiven() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock, room_budget_s=0.02, room_strikes=30)
    room = Sluggish("gc", clock=clock)
    sched.add(room)
    for i in range(300):
        room.cost = 0.05 if i % 10 == 0 else 0.0  # a long pause every tenth tick
        clock.t += 1 / 60
        sched.run_due()
    assert "gc" in sched.rooms and room.failure is None


@dataclass
class Closer(Counter):
    """Closes a room (itself or another) from inside its tick, as an emptied room does."""

    sched: Scheduler | None = None
    closes: str = ""

    def tick(self, n: int, now: float) -> None:
        super().tick(n, now)
        if self.sched is not None and n == 2:
            self.sched.remove(self.closes)


def test_a_room_closed_during_a_batch_gets_no_more_ticks_and_no_flush() -> None:
    clock = FakeClock()
    sched = Scheduler(60, clock, max_catch_up=10)
    itself = Closer("self")
    itself.closes = "self"
    closer = Closer("closer", closes="victim")
    victim = Counter("victim")
    for room in (itself, closer, victim):
        sched.add(room)
    for room in (itself, closer):
        room.sched = sched
    clock.t += 4 / 60  # a batch of five ticks: 0..4
    assert sched.run_due() == 5
    assert itself.ticks == [0, 1, 2] and itself.flushes == 0
    assert victim.ticks == [] and victim.flushes == 0  # closed before its turn came
    assert closer.ticks == [0, 1, 2, 3, 4] and closer.flushes == 1


@dataclass
class SlowFlush(Counter):
    """A room whose flush (its sends) takes `cost` seconds of the fake clock."""

    clock: FakeClock | None = None
    cost: float = 0.0

    def flush(self, n: int, now: float) -> None:
        super().flush(n, now)
        if self.clock is not None:
            self.clock.t += self.cost


async def test_flushes_wait_while_a_due_tick_runs_first() -> None:
    clock = FakeClock()

    async def fake_sleep(delay: float) -> None:
        clock.t += delay
        if rooms[0].ticks and rooms[0].ticks[-1] >= 120:
            sched.stop()

    sched = Scheduler(60, clock, fake_sleep)
    # 20 rooms whose sends take 1 ms each: 20 ms of flushing per 16.7 ms tick, more than fits.
    rooms = [SlowFlush(f"r{i}", clock=clock, cost=0.001) for i in range(20)]
    for room in rooms:
        sched.add(room)
    await sched.run()
    ticks = len(rooms[0].ticks)
    # Every tick ran within a flush of its due time, none was dropped or bunched up...
    assert sched.late_max <= 0.001 + 1e-9 and sched.dropped == 0
    assert all(room.ticks == list(range(ticks)) for room in rooms)
    # ...and the sends kept up as far as they could: owed flushes merge, none is lost for long.
    assert all(room.flushes >= ticks * 16.7 / 20 * 0.9 for room in rooms)
