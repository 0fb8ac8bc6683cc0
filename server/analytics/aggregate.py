"""Aggregates over analytics events: a pure fold, and its running totals kept on the bus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.analytics.events import Event, Kind
from server.bus import Bus


def hour_of(ts: float) -> str:
    """The UTC hour an event falls in, as "2026-11-21 09:00"."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:00")


@dataclass
class Totals:
    """Counts folded from events; add events with `add`, combine with `merge`."""

    events: int = 0
    games_per_hour: Counter[str] = field(default_factory=Counter)
    scores: int = 0
    score_sum: int = 0
    best: dict[str, int] = field(default_factory=dict)  # player -> best score
    deaths_by_ghost: Counter[str] = field(default_factory=Counter)
    room_joins: Counter[str] = field(default_factory=Counter)
    chat_lines: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, event: Event) -> None:
        self.events += 1
        self.kinds[event.kind.value] += 1
        if event.kind is Kind.GAME_END:
            self.games_per_hour[hour_of(event.ts)] += 1
        elif event.kind is Kind.SCORE:
            self.scores += 1
            self.score_sum += event.value
            if event.value > self.best.get(event.player, -1):
                self.best[event.player] = event.value
        elif event.kind is Kind.DEATH:
            self.deaths_by_ghost[event.detail or "unknown"] += 1
        elif event.kind is Kind.JOIN:
            self.room_joins[event.room] += 1
        elif event.kind is Kind.CHAT:
            self.chat_lines += max(1, event.value)

    @classmethod
    def of(cls, events: Iterable[Event]) -> Totals:
        totals = cls()
        for event in events:
            totals.add(event)
        return totals

    def report(self, top: int = 5) -> dict[str, Any]:
        """Plain, JSON-ready aggregates."""
        best = sorted(self.best.items(), key=lambda item: (-item[1], item[0]))[:top]
        return {
            "events": self.events,
            "games": sum(self.games_per_hour.values()),
            "games_per_hour": dict(sorted(self.games_per_hour.items())),
            "scores": {
                "count": self.scores,
                "average": round(self.score_sum / self.scores, 1) if self.scores else 0,
                "best": [{"player": name, "score": score} for name, score in best],
            },
            "deaths_by_ghost": dict(self.deaths_by_ghost.most_common()),
            "busiest_rooms": [{"room": room, "joins": n} for room, n in _top(self.room_joins, top)],
            "chat_lines": self.chat_lines,
            "events_by_kind": dict(sorted(self.kinds.items())),
        }


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:n]


class TotalsStore:
    """Running totals on the bus, so a restarted consumer continues the same aggregates."""

    def __init__(self, bus: Bus, prefix: str = "analytics:totals") -> None:
        self._bus = bus
        self._p = prefix

    async def add_and_ack(self, delta: Totals, stream: str, group: str, ids: list[str]) -> None:
        """Add a batch's totals and acknowledge its records, in one step (`Bus.fold_and_ack`):
        a consumer that dies after storing a batch but before acknowledging it would otherwise
        get the batch again and count it twice."""
        counters = {
            "hours": delta.games_per_hour,
            "deaths": delta.deaths_by_ghost,
            "rooms": delta.room_joins,
            "kinds": delta.kinds,
        }
        counts = {f"{self._p}:{name}": dict(c) for name, c in counters.items() if c}
        counts[f"{self._p}:sums"] = {
            "events": delta.events,
            "scores": delta.scores,
            "score_sum": delta.score_sum,
            "chat_lines": delta.chat_lines,
        }
        best = {name: float(score) for name, score in delta.best.items()}
        maxima = {f"{self._p}:best": best} if best else {}
        await self._bus.fold_and_ack(counts, maxima, stream, group, ids)

    async def load(self) -> Totals:
        sums = await self._ints("sums")
        best = await self._bus.zrange(f"{self._p}:best", 0, -1)
        return Totals(
            events=sums.get("events", 0),
            games_per_hour=Counter(await self._ints("hours")),
            scores=sums.get("scores", 0),
            score_sum=sums.get("score_sum", 0),
            best={player: int(score) for player, score in best},
            deaths_by_ghost=Counter(await self._ints("deaths")),
            room_joins=Counter(await self._ints("rooms")),
            chat_lines=sums.get("chat_lines", 0),
            kinds=Counter(await self._ints("kinds")),
        )

    async def _ints(self, name: str) -> dict[str, int]:
        return {k: int(v) for k, v in (await self._bus.hgetall(f"{self._p}:{name}")).items()}
