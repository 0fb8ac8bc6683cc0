"""A `backend` fixture parametrized over both bus implementations: memory and real Redis.

Registered for every test by tests/conftest.py; type hints import `Backend` from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from server.bus import Bus, MemoryBus
from server.bus.redis import RedisBus

__all__ = ["Backend", "FakeClock", "backend", "bus"]


class FakeClock:
    """A clock that only moves when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """A bus under test, a way to let time pass for it, and more buses sharing its state."""

    kind: str
    bus: Bus
    advance: Callable[[float], Awaitable[None]]
    open_peer: Callable[[], Bus]
    peers: list[Bus] = field(default_factory=list)

    def peer(self) -> Bus:
        """Another process's view of the same shared state."""
        bus = self.open_peer()
        self.peers.append(bus)
        return bus


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The memory bus on a fake clock, then a Redis bus on the (flushed) session redis-server."""
    if request.param == "memory":
        clock = FakeClock()
        memory = MemoryBus(clock)

        async def tick(seconds: float) -> None:
            clock.now += seconds
            await asyncio.sleep(0)

        made = Backend("memory", memory, tick, lambda: memory)
    else:
        url = request.getfixturevalue("redis_url")

        async def wait(seconds: float) -> None:
            await asyncio.sleep(seconds)

        made = Backend("redis", RedisBus.from_url(url), wait, lambda: RedisBus.from_url(url))
    try:
        yield made
    finally:
        for bus in {id(b): b for b in [made.bus, *made.peers]}.values():
            await bus.close()


@pytest.fixture
def bus(backend: Backend) -> Bus:
    """The bus of `backend`."""
    return backend.bus
