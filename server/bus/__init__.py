"""What processes share: one interface (base), in memory by default, Redis when REDIS_URL is set."""

from __future__ import annotations

from server.bus.base import (
    Bus,
    BusUnavailable,
    Entry,
    Lease,
    Message,
    Pending,
    Subscription,
)
from server.bus.keeper import HeldLease, LeaseGroup
from server.bus.memory import MemoryBus
from server.config import Config

__all__ = [
    "Bus",
    "BusUnavailable",
    "Entry",
    "HeldLease",
    "Lease",
    "LeaseGroup",
    "MemoryBus",
    "Message",
    "Pending",
    "Subscription",
    "open_bus",
]


def open_bus(config: Config) -> Bus:
    """The memory bus when `config.redis_url` is empty, else a Redis bus (connects lazily)."""
    if not config.redis_url:
        return MemoryBus()
    from server.bus.redis import RedisBus  # imported here: memory mode never loads redis

    return RedisBus.from_url(config.redis_url)
