"""Snapshots: an Arena as plain JSON-able data and back, RNG state included."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from server.game.maze import Maze, classic_maze, parse_maze
from server.game.model import Ghost, Player
from server.game.tables import level
from server.game.view import Event, EventKind, Mode

if TYPE_CHECKING:
    from server.game.arena import Arena

STATE_VERSION = 1
# A game draws about a word a frame at most (frightened ghosts' turns, the fruit's time): this
# is over a week of play, and skipping it takes about 0.4 s.
MAX_RNG_WORDS = 50_000_000
SKIP_CHUNK = 1 << 20  # words skipped per call: one getrandbits of 32 * SKIP_CHUNK bits
SCALARS = (
    "seed",
    "level_limit",
    "ready_frames",
    "freeze_frames",
    "death_frames",
    "clear_frames",
    "respawn_frames",
    "protect_frames",
    "lives",
    "frame",
    "phase",
    "timer",
    "over",
    "winner",
    "peak",
    "chain",
    "frozen_ghost",
    "level",
    "pellets",
    "pellets_left",
    "eaten",
    "global_on",
    "global_count",
    "idle",
    "elroy",
    "elroy_off",
    "fruit",
    "fruit_left",
    "mode_t",
    "mode_idx",
    "fright_left",
)


def to_state(arena: Arena) -> dict[str, Any]:
    """Everything needed to continue `arena` exactly, as dict/list/int/str/bool/None only.

    The arena's own RNG is saved as the words drawn from `Random(seed)` (`rng_words`); an RNG
    passed in, or one restored from a full state, as its full state (`rng`).
    """
    state: dict[str, Any] = {name: getattr(arena, name) for name in SCALARS}
    state.update(
        version=STATE_VERSION,
        mode=int(arena.mode),
        maze=None if arena.maze is classic_maze() else arena.maze.text,
        maze_name=arena.maze.name,
        house_counts=list(arena.house_counts),
        players=[p.to_state() for p in arena.players_list],
        ghosts=[g.to_state() for g in arena.ghosts],
        events=[[int(e.kind), e.frame, e.player, e.other, e.value, e.points] for e in arena.events],
    )
    if arena.rng is arena.own_rng:
        state["rng_words"] = arena.rng_words
    else:
        state["rng"] = full_rng_state(arena)
    return state


def full_rng_state(arena: Arena) -> list[Any]:
    """The RNG's whole state (625 words), JSON-able."""
    version, internal, gauss = arena.rng.getstate()
    return [version, list(internal), gauss]


def from_state(cls: type[Arena], state: dict[str, Any]) -> Arena:
    """Rebuild an Arena from `to_state()` output; it continues exactly as the original would."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported state version {state.get('version')!r}")
    maze: Maze | None = None
    if state["maze"] is not None:
        maze = parse_maze(state["maze"], state["maze_name"])
    arena = cls(mode=Mode(state["mode"]), seed=state["seed"], maze=maze)
    for name in SCALARS:
        setattr(arena, name, state[name])
    arena.lv = level(arena.level)
    arena.house_counts = list(state["house_counts"])
    players = []
    for data in state["players"]:
        p = Player(0, 0, 0, 0)
        p.load(data)
        players.append(p)
    arena.players = {p.id: p for p in players}
    arena.players_list = players
    ghosts = []
    for data in state["ghosts"]:
        g = Ghost(0, 0, 0, 0, 0)
        g.load(data)
        ghosts.append(g)
    arena.ghosts = ghosts
    if "rng_words" in state:  # the arena's own Random(seed), this many words on
        words = state["rng_words"]
        if not isinstance(words, int) or not 0 <= words <= MAX_RNG_WORDS:
            raise ValueError(f"RNG position out of range: {words!r}")
        _skip_words(arena.rng, words)
        arena.rng_words = words
    else:
        version, internal, gauss = state["rng"]
        arena.rng = random.Random()
        arena.rng.setstate((version, tuple(internal), gauss))
    arena.events = [Event(EventKind(k), f, p, o, v, pts) for k, f, p, o, v, pts in state["events"]]
    return arena


def _skip_words(rng: random.Random, words: int) -> None:
    """Advance `rng` by `words` 32-bit words (`getrandbits(32 * n)` draws exactly n)."""
    while words > 0:
        step = min(words, SKIP_CHUNK)
        rng.getrandbits(32 * step)
        words -= step
