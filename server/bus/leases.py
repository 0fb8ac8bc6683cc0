"""How a lease is stored under its key: b"<epoch>:<owner>", with the epoch counter beside it."""

from __future__ import annotations

from server.bus.base import Lease


def format_lease(epoch: int, owner: str) -> bytes:
    """The stored value of a lease."""
    return f"{epoch}:{owner}".encode()


def parse_lease(key: str, raw: bytes) -> Lease | None:
    """Read a stored lease value back; None when the key holds something else."""
    epoch, sep, owner = raw.decode(errors="replace").partition(":")
    if not sep or not epoch.isdigit():
        return None
    return Lease(key, owner, int(epoch))


def epoch_key(key: str) -> str:
    """The counter that makes epochs grow across every acquisition of `key`; it never expires."""
    return f"{key}:epoch"
