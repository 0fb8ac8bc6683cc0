"""Analytics event records: what they hold, how they travel as stream fields, and the recorder."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from server.bus import Bus, BusUnavailable
from server.game.view import Event as GameEvent
from server.game.view import EventKind, Fruit, GhostId

STREAM = "analytics:events"
MAXLEN = 100_000  # the stream keeps about this many newest records


class Kind(StrEnum):
    GAME_START = "game_start"
    GAME_END = "game_end"  # value = players in the game
    SCORE = "score"  # player's final score in a game; value = score
    DEATH = "death"  # detail = the ghost that caught the player
    GHOST_EATEN = "ghost_eaten"  # detail = ghost, value = points
    RIVAL_EATEN = "rival_eaten"  # value = points
    FRUIT = "fruit"  # detail = fruit, value = points
    LEVEL_CLEAR = "level_clear"  # value = level cleared
    JOIN = "join"
    LEAVE = "leave"
    CHAT = "chat"  # value = lines


@dataclass(frozen=True, slots=True)
class Event:
    """One notable thing that happened, flat and self-describing."""

    kind: Kind
    room: str
    player: str = ""
    value: int = 0
    detail: str = ""
    ts: float = 0.0  # unix seconds

    def fields(self) -> dict[str, bytes]:
        """The stream record for this event."""
        return {
            "kind": self.kind.value.encode(),
            "room": self.room.encode(),
            "player": self.player.encode(),
            "value": str(self.value).encode(),
            "detail": self.detail.encode(),
            "ts": repr(self.ts).encode(),
        }

    @classmethod
    def parse(cls, fields: Mapping[str, bytes]) -> Event:
        """Read a stream record back; raises ValueError when it is not an event."""
        try:
            return cls(
                kind=Kind(fields["kind"].decode()),
                room=fields.get("room", b"").decode(),
                player=fields.get("player", b"").decode(),
                value=int(fields.get("value", b"0")),
                detail=fields.get("detail", b"").decode(),
                ts=float(fields.get("ts", b"0")),
            )
        except (KeyError, UnicodeDecodeError) as exc:
            raise ValueError(f"not an analytics event: {exc}") from exc


_GAME_KINDS = {
    EventKind.PLAYER_CAUGHT: Kind.DEATH,
    EventKind.GHOST_EATEN: Kind.GHOST_EATEN,
    EventKind.RIVAL_EATEN: Kind.RIVAL_EATEN,
    EventKind.FRUIT_EATEN: Kind.FRUIT,
    EventKind.LEVEL_CLEARED: Kind.LEVEL_CLEAR,
}


def any_notable(events: Iterable[GameEvent]) -> bool:
    """Whether `from_game` would keep any of these events."""
    return any(event.kind in _GAME_KINDS for event in events)


def from_game(
    events: Iterable[GameEvent], room: str, names: Mapping[int, str], ts: float
) -> list[Event]:
    """The notable ones among a step's game events (pellets are far too many to record)."""
    out: list[Event] = []
    for event in events:
        kind = _GAME_KINDS.get(event.kind)
        if kind is None:
            continue
        player = names.get(event.player, "") if event.player is not None else ""
        detail, value = "", event.points
        if kind in (Kind.DEATH, Kind.GHOST_EATEN) and event.other is not None:
            detail = GhostId(event.other).name.lower()
        elif kind is Kind.FRUIT:
            detail = Fruit(event.value).name.lower()
        elif kind is Kind.LEVEL_CLEAR:
            value = event.value
        out.append(Event(kind, room, player, value, detail, ts))
    return out


class EventLog:
    """Appends events to the capped stream; never lets analytics break the game."""

    def __init__(
        self,
        bus: Bus,
        *,
        stream: str = STREAM,
        maxlen: int = MAXLEN,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self.stream = stream
        self._maxlen = maxlen
        self._now = wall_clock
        self.dropped = 0

    async def record(self, *events: Event) -> bool:
        """Append events in order, in one call; False (and counted in `dropped`) when the bus
        is down."""
        if not events:
            return True
        stamped = [event if event.ts else replace(event, ts=self._now()) for event in events]
        try:
            await self._bus.xadd_many(self.stream, [e.fields() for e in stamped], self._maxlen)
        except BusUnavailable:
            self.dropped += len(events)
            return False
        return True
