"""One in-memory stream with consumer groups, behaving like a Redis stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.bus.base import Entry, Pending, stream_id_key


@dataclass
class _Group:
    last_id: str
    pending: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # consumer, t, n


def _copy(entry: Entry) -> Entry:
    return Entry(entry.id, dict(entry.fields))


class MemoryStream:
    """Entries with ordered ids "<ms>-<seq>", exact trimming, groups with pending lists."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.last_id = (0, 0)
        self.groups: dict[str, _Group] = {}

    def append(self, fields: Mapping[str, bytes], ms: int, maxlen: int) -> str:
        last_ms, last_seq = self.last_id
        self.last_id = (ms, 1 if ms == 0 else 0) if ms > last_ms else (last_ms, last_seq + 1)
        entry_id = f"{self.last_id[0]}-{self.last_id[1]}"
        self.entries.append(Entry(entry_id, dict(fields)))
        del self.entries[: max(0, len(self.entries) - maxlen)]
        return entry_id

    def after(self, entry_id: str, count: int) -> list[Entry]:
        floor = stream_id_key(entry_id)
        return [_copy(e) for e in self.entries if stream_id_key(e.id) > floor][:count]

    def create_group(self, group: str, start: str) -> bool:
        if group in self.groups:
            return False
        last = f"{self.last_id[0]}-{self.last_id[1]}" if start == "$" else start
        self.groups[group] = _Group(last)
        return True

    def group(self, group: str, stream: str) -> _Group:
        if group not in self.groups:
            raise LookupError(f"NOGROUP no consumer group {group!r} on stream {stream!r}")
        return self.groups[group]

    def deliver_new(self, grp: _Group, consumer: str, count: int, now: float) -> list[Entry]:
        found = self.after(grp.last_id, count)
        for entry in found:
            grp.pending[entry.id] = (consumer, now, 1)
            grp.last_id = entry.id
        return found

    def deliver_pending(self, grp: _Group, consumer: str, count: int, now: float) -> list[Entry]:
        by_id = {e.id: e for e in self.entries}
        out: list[Entry] = []
        for entry_id in sorted(grp.pending, key=stream_id_key):
            owner, _, deliveries = grp.pending[entry_id]
            if owner != consumer or len(out) >= count:
                continue
            if entry_id not in by_id:  # trimmed since it was delivered: nothing left to process
                del grp.pending[entry_id]
                continue
            grp.pending[entry_id] = (consumer, now, deliveries + 1)
            out.append(_copy(by_id[entry_id]))
        return out

    @staticmethod
    def ack(grp: _Group, ids: tuple[str, ...]) -> int:
        return sum(1 for i in ids if grp.pending.pop(i, None) is not None)

    @staticmethod
    def pending(grp: _Group, count: int, now: float) -> list[Pending]:
        ordered = sorted(grp.pending.items(), key=lambda item: stream_id_key(item[0]))[:count]
        return [Pending(i, owner, now - t, n) for i, (owner, t, n) in ordered]

    def claim_idle(
        self, grp: _Group, consumer: str, min_idle: float, count: int, now: float
    ) -> list[Entry]:
        by_id = {e.id: e for e in self.entries}
        claimed: list[Entry] = []
        for entry_id in sorted(grp.pending, key=stream_id_key):
            _, since, deliveries = grp.pending[entry_id]
            if now - since < min_idle or len(claimed) >= count:
                continue
            if entry_id not in by_id:
                del grp.pending[entry_id]
                continue
            grp.pending[entry_id] = (consumer, now, deliveries + 1)
            claimed.append(_copy(by_id[entry_id]))
        return claimed
