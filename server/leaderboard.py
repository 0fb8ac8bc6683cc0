"""High scores, wins, games played, recent games and who is online, kept on the shared bus."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from server.bus import Bus

WallClock = Callable[[], float]  # unix seconds; days are UTC


@dataclass(frozen=True, slots=True)
class PlayerResult:
    """How one player finished a game."""

    name: str
    score: int
    won: bool = False


@dataclass(frozen=True, slots=True)
class GameResult:
    """A finished game; `game_id` is unique per game and makes recording it idempotent."""

    game_id: str
    room: str
    ended_at: float  # unix seconds
    players: tuple[PlayerResult, ...]
    level: int = 1
    duration_s: float = 0.0


def day_of(ts: float) -> str:
    """The UTC day ("2026-11-21") a unix time falls on."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class Leaderboard:
    """Writes finished games once and reads boards back as plain, JSON-ready dicts."""

    def __init__(
        self,
        bus: Bus,
        *,
        prefix: str = "lb",
        wall_clock: WallClock = time.time,
        recent_cap: int = 50,
        guard_ttl_s: float = 7 * 86400.0,
        daily_ttl_s: float = 3 * 86400.0,
        online_ttl_s: float = 60.0,
    ) -> None:
        self._bus = bus
        self._p = prefix
        self._now = wall_clock
        self._recent_cap = recent_cap
        self._guard_ttl_s = guard_ttl_s
        self._daily_ttl_s = daily_ttl_s
        self.online_ttl_s = online_ttl_s  # refresh presence more often than this

    # Writing
    async def record_game(self, result: GameResult) -> bool:
        """Add a finished game to every board; False (and no change) if it was recorded before.

        The game id is claimed first (set-if-absent), so a retried or duplicated call never
        counts twice. If the bus fails after the claim the game stays claimed: at most once.
        """
        guard = f"{self._p}:game:{result.game_id}"
        if not await self._bus.set(guard, b"1", self._guard_ttl_s, only_if_absent=True):
            return False
        day = day_of(result.ended_at)
        daily = f"{self._p}:daily:{day}"
        for player in result.players:
            await self._bus.zadd_max(f"{self._p}:best", player.name, player.score)
            await self._bus.zadd_max(daily, player.name, player.score)
            await self._bus.zincrby(f"{self._p}:played", player.name, 1)
            if player.won:
                await self._bus.zincrby(f"{self._p}:wins", player.name, 1)
        await self._bus.expire(daily, self._daily_ttl_s)
        await self._bus.hincrby(f"{self._p}:totals", "games")
        games_today = f"{self._p}:games:{day}"
        await self._bus.incr(games_today)
        await self._bus.expire(games_today, self._daily_ttl_s)
        summary = asdict(result)
        summary["players"] = sorted(summary["players"], key=lambda p: -p["score"])
        await self._bus.list_push(
            f"{self._p}:recent", json.dumps(summary).encode(), self._recent_cap
        )
        return True

    async def player_online(self, player_id: str, name: str, room: str = "") -> None:
        """Mark a player online (call again well within `online_ttl_s` to stay listed)."""
        await self.players_online({player_id: (name, room)})

    async def players_online(self, players: Mapping[str, tuple[str, str]]) -> None:
        """`player_online` for each player id -> (name, room), in one round trip."""
        if players:
            data = {
                pid: json.dumps({"name": name, "room": room}).encode()
                for pid, (name, room) in players.items()
            }
            await self._bus.presence_set_many(f"{self._p}:online", data, self.online_ttl_s)

    async def player_offline(self, player_id: str) -> None:
        await self.players_offline([player_id])

    async def players_offline(self, player_ids: Iterable[str]) -> None:
        """`player_offline` for each player id, in one round trip."""
        await self._bus.presence_remove(f"{self._p}:online", *player_ids)

    # Reading
    async def high_scores(self, limit: int = 10) -> list[dict[str, Any]]:
        return await self._ranked(f"{self._p}:best", "score", limit)

    async def daily_high_scores(
        self, day: str | None = None, limit: int = 10
    ) -> list[dict[str, Any]]:
        key = f"{self._p}:daily:{day or day_of(self._now())}"
        return await self._ranked(key, "score", limit)

    async def most_wins(self, limit: int = 10) -> list[dict[str, Any]]:
        return await self._ranked(f"{self._p}:wins", "wins", limit)

    async def most_games(self, limit: int = 10) -> list[dict[str, Any]]:
        return await self._ranked(f"{self._p}:played", "games", limit)

    async def recent_games(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = await self._bus.list_range(f"{self._p}:recent", 0, limit - 1)
        return [json.loads(row) for row in rows]

    async def online(self) -> list[dict[str, Any]]:
        """Players online now, by name."""
        members = await self._bus.presence_list(f"{self._p}:online")
        players = [{"id": pid, **json.loads(data or b"{}")} for pid, data in members.items()]
        return sorted(players, key=lambda p: (str(p.get("name", "")).lower(), p["id"]))

    async def games_total(self) -> int:
        return int(await self._bus.hget(f"{self._p}:totals", "games") or b"0")

    async def games_on(self, day: str | None = None) -> int:
        return int(await self._bus.get(f"{self._p}:games:{day or day_of(self._now())}") or b"0")

    async def leaderboard(self, limit: int = 10) -> dict[str, Any]:
        """What `/api/leaderboard` serves."""
        today = day_of(self._now())
        return {
            "all_time": await self.high_scores(limit),
            "today": {"day": today, "scores": await self.daily_high_scores(today, limit)},
            "most_wins": await self.most_wins(limit),
            "most_games": await self.most_games(limit),
        }

    async def stats(self, recent: int = 10) -> dict[str, Any]:
        """What `/api/stats` serves."""
        online = await self.online()
        return {
            "games_played": await self.games_total(),
            "games_today": await self.games_on(),
            "players_online": len(online),
            "online": online,
            "recent_games": await self.recent_games(recent),
        }

    async def _ranked(self, key: str, label: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._bus.zrange(key, 0, limit - 1, desc=True)
        return _ranks(rows, label)


def _ranks(rows: Sequence[tuple[str, float]], label: str) -> list[dict[str, Any]]:
    """Rank rows; equal values share a rank (1, 2, 2, 4)."""
    out: list[dict[str, Any]] = []
    for index, (name, value) in enumerate(rows):
        rank = out[-1]["rank"] if out and out[-1][label] == int(value) else index + 1
        out.append({"rank": rank, "name": name, label: int(value)})
    return out
