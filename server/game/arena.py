"""The Arena: one game (classic or arena mode) stepped one 60 Hz frame at a time.

Call order, once per frame: `set_direction()` for any new intents, then `step()`, then
`drain_events()`; `view()` whenever a snapshot is to be sent (it does not change the game).
`add_player()` / `remove_player()` may be called between steps. Nothing here reads a clock,
does I/O or uses the global random generator: the same seed and inputs give the same game.
"""

from __future__ import annotations

import random
from typing import Any

from server.game import errors, house, levels, outcome, present, rules, state
from server.game.ghosts import move_in_maze
from server.game.maze import Maze, classic_maze, tile_index
from server.game.model import G_ENTER, G_EYES, G_LEAVE, G_OUT, G_WAIT, Ghost, Player
from server.game.tables import START_LIVES, Level, Speeds, level, move_bits
from server.game.view import (
    ArenaView,
    Direction,
    Event,
    EventKind,
    Fruit,
    Mode,
    Phase,
    PlayerState,
    Snapshot,
)

MAX_PLAYERS = 8
READY, PLAYING, FREEZE, DYING, CLEAR, OVER = (int(p) for p in Phase)
ALIVE, P_DYING, RESPAWNING, OUT = (int(s) for s in PlayerState)


class Arena:
    """One game: players, ghosts, pellets and the level, advanced by `step()`."""

    def __init__(
        self,
        mode: Mode = Mode.ARENA,
        seed: int = 0,
        maze: Maze | None = None,
        level_limit: int = 0,
        start_level: int = 1,
        *,
        # Pauses, in frames
        ready_frames: int = 60,
        freeze_frames: int = 60,
        death_frames: int = 120,
        clear_frames: int = 120,
        # Arena rules, in frames
        respawn_frames: int = 120,
        protect_frames: int = 120,
        lives: int = START_LIVES,
        rng: random.Random | None = None,
    ) -> None:
        if start_level < 1:
            raise errors.GameError(f"start_level must be 1 or more, not {start_level}")
        self.maze = maze if maze is not None else classic_maze()
        self.mode = Mode(mode)
        self.multi = self.mode == Mode.ARENA
        self.seed = seed
        self.rng = rng if rng is not None else random.Random(seed)  # frightened turns, fruit time
        # The arena's own RNG (None when one was passed in) is `Random(seed)` plus the 32-bit
        # words drawn since, `rng_words` (every draw goes through `draw_bits`/`draw_below`):
        # its state is that number, not 2.5 KB (see `state.to_state`).
        self.own_rng: random.Random | None = self.rng if rng is None else None
        self.rng_words = 0
        self.level_limit = level_limit
        self.ready_frames = ready_frames
        self.freeze_frames = freeze_frames
        self.death_frames = death_frames
        self.clear_frames = clear_frames
        self.respawn_frames = respawn_frames
        self.protect_frames = protect_frames
        self.lives = lives
        self.eyes_target = (self.maze.door[0], self.maze.door[1] - 1)
        self.frame = 0
        self.phase = READY  # set again by levels.reset_actors()
        self.timer = ready_frames
        self.over = False
        self.winner: int | None = None
        self.peak = 0  # most players present at once since play began
        self.players: dict[int, Player] = {}
        self.players_list: list[Player] = []  # the same players, sorted by id
        self.events: list[Event] = []
        self.chain = 0
        self.frozen_ghost = -1
        self.ghosts: list[Ghost] = []
        # Level state, set by levels.start_level()
        self._pellets = 0
        self.dots = bytearray()  # per tile index: 1 = a pellet is still there (see `pellets`)
        self._moves_for: Speeds | None = None  # the speeds _move_tables were made from
        self._move_tables: tuple[bytes, ...] = ()
        self.pellets_left = 0
        self.eaten = 0  # pellets eaten this level, all players together
        self.house_counts = [0, 0, 0]  # personal counters of Pinky, Inky, Clyde
        self.global_on = False  # the global counter after a death is in charge
        self.global_count = 0
        self.idle = 0  # frames since a pellet was eaten
        self.elroy = 0  # 0, 1 or 2
        self.elroy_off = False  # suspended after a death until Clyde is out
        self.fruit = 0
        self.fruit_left = 0
        self.mode_t = 0  # scatter/chase timer, frames
        self.mode_idx = 0  # phases passed: even = scatter, odd = chase
        self.fright_left = 0
        self.level = start_level
        self.lv: Level = level(start_level)
        levels.start_level(self)
        self.emit(EventKind.LEVEL_STARTED, None, None, self.level, 0)

    # Pellets

    @property
    def pellets(self) -> int:
        """Bitmask over the maze's pellet list: bit i set = pellet i still there."""
        return self._pellets

    @pellets.setter
    def pellets(self, value: int) -> None:
        # The hot loop asks "is there a pellet on this tile?" of `dots`, one byte per tile,
        # instead of shifting a 244-bit int; both are set together here and in take_pellet().
        self._pellets = value
        dots = bytearray(len(self.maze.pellet_at))
        for tile, pellet in enumerate(self.maze.pellet_at):
            if pellet >= 0 and value >> pellet & 1:
                dots[tile] = 1
        self.dots = dots

    def take_pellet(self, pellet: int) -> None:
        """Remove pellet number `pellet` from the maze."""
        self._pellets &= ~(1 << pellet)
        x, y = self.maze.pellet_tiles[pellet]
        self.dots[tile_index(x, y)] = 0

    # Players

    def add_player(self, pid: int) -> None:
        """Seat player `pid` (0..7) on a free spawn; protected if the game is already running."""
        if not isinstance(pid, int) or not 0 <= pid < MAX_PLAYERS:
            raise errors.BadPlayer(f"player id {pid!r} is not 0..{MAX_PLAYERS - 1}")
        if self.over:
            raise errors.GameIsOver("the game is over")
        if pid in self.players:
            raise errors.SeatTaken(f"seat {pid} is taken")
        if not self.multi and self.players:
            raise errors.ArenaFull("classic mode takes exactly one player")
        if len(self.players) >= MAX_PLAYERS:
            raise errors.ArenaFull("the arena is full")
        x, y = self.maze.start if not self.multi else outcome.free_spawn(self, 0)
        p = Player(pid, x, y, self.lives)
        if self.frame > 0 and self.multi:
            p.protect = self.protect_frames
        self.players[pid] = p
        self.players_list = sorted(self.players.values(), key=lambda q: q.id)
        if self.frame > 0:
            self.peak = max(self.peak, len(self.players))
        self.emit(EventKind.PLAYER_JOINED, pid, None, 0, 0)

    def remove_player(self, pid: int) -> None:
        """Take player `pid` out of the game (it left); the arena may then have a last standing."""
        if pid not in self.players:
            raise errors.BadPlayer(f"player {pid!r} is not in the game")
        del self.players[pid]
        self.players_list = [p for p in self.players_list if p.id != pid]
        self.emit(EventKind.PLAYER_LEFT, pid, None, 0, 0)
        if not self.multi and self.frame > 0:
            outcome.game_over(self, None)
        else:
            outcome.check_over(self)

    def set_direction(self, pid: int, direction: Direction | int) -> None:
        """Set the wanted direction of `pid`; it is kept and applied once the maze allows it."""
        p = self.players.get(pid)
        if p is None:
            raise errors.BadPlayer(f"player {pid!r} is not in the game")
        kind = type(direction)
        if kind is Direction or (kind is int and 0 <= direction <= 3):
            p.want = int(direction)  # the usual case, without looking up an enum member
            return
        try:
            p.want = int(Direction(direction))
        except ValueError:
            raise errors.GameError(f"{direction!r} is not a direction (0..3)") from None

    # The frame

    def step(self) -> None:
        """Advance exactly one 60 Hz frame (two movement sub-ticks while playing)."""
        self.frame += 1
        if self.peak < len(self.players_list):
            self.peak = len(self.players_list)
        phase = self.phase
        if phase == PLAYING:
            self._play()
        elif phase == READY:
            self.timer -= 1
            if self.timer <= 0:
                self.phase = PLAYING
        elif phase == FREEZE:
            self._freeze()
        elif phase == DYING:
            self.timer -= 1
            if self.timer <= 0:
                levels.after_death(self)
        elif phase == CLEAR:
            self.timer -= 1
            if self.timer <= 0:
                levels.next_level(self)

    def drain_events(self) -> list[Event]:
        """Events emitted since the last drain, oldest first (call after each `step()`)."""
        out = self.events
        self.events = []
        return out

    def _moves(self, sp: Speeds) -> tuple[bytes, ...]:
        """The level's speed patterns as byte tables (see `move_bits`), made once per level."""
        if self._moves_for is not sp:
            self._moves_for = sp
            self._move_tables = tuple(
                move_bits(pattern)
                for pattern in (
                    sp.pac,
                    sp.pac_fright,
                    sp.tunnel,
                    sp.ghost_fright,
                    sp.elroy1,
                    sp.elroy2,
                    sp.ghost,
                )
            )
        return self._move_tables

    def _play(self) -> None:
        # The hot loop of the server: names are bound to locals once per frame, and an actor
        # whose speed pattern says "stay" this sub-tick costs one table lookup.
        pac, pac_fright, tunnel, ghost_fright, elroy1, elroy2, normal = self._moves(self.lv.speeds)
        slow = self.maze.slow
        ghosts = self.ghosts
        players = self.players_list
        collide = rules.collide
        step_player = rules.step_player
        for _ in (0, 1):
            collide(self)
            if self.phase != PLAYING:
                return
            for p in players:
                if p.state != ALIVE:
                    continue
                if p.pause:
                    p.pause -= 1  # eating pause: the speed pattern does not advance either
                    continue
                ph = p.ph
                p.ph = (ph + 1) & 31
                if (pac_fright if p.power else pac)[ph]:
                    step_player(self, p)
                    if self.phase != PLAYING:
                        return  # the last pellet: the level is over for everyone
            for g in ghosts:
                st = g.state
                if st == G_OUT:
                    if slow[(g.y >> 3) * 32 + ((g.x + 16) >> 3)]:
                        bits = tunnel
                    elif g.fright:
                        bits = ghost_fright
                    elif g.id == 0 and self.elroy:
                        bits = elroy2 if self.elroy == 2 else elroy1
                    else:
                        bits = normal
                    ph = g.ph
                    g.ph = (ph + 1) & 31
                    if bits[ph]:
                        move_in_maze(self, g)
                elif st == G_EYES:
                    move_in_maze(self, g)
        if self.frame & 1:
            for g in ghosts:
                if g.state == G_WAIT or g.state == G_LEAVE or g.state == G_ENTER:
                    house.move_in_house(self, g)
        house.update_release(self)
        self._timers()

    def _timers(self) -> None:
        """Once per playing frame: fright, scatter/chase schedule, Elroy, fruit, player timers."""
        lv = self.lv
        ghosts = self.ghosts
        if self.fright_left:
            self.fright_left -= 1
            if not self.fright_left or not (
                ghosts[0].fright or ghosts[1].fright or ghosts[2].fright or ghosts[3].fright
            ):
                levels.end_fright(self, True)
        else:
            self.mode_t += 1  # the schedule is paused while frightened
            sched = lv.schedule
            if self.mode_idx < len(sched) and self.mode_t >= sched[self.mode_idx]:
                self.mode_idx += 1
                for g in ghosts:
                    if g.state != G_EYES and g.state != G_ENTER:
                        g.reverse = True
        if self.elroy_off and ghosts[3].state == G_OUT:
            self.elroy_off = False
        left = self.pellets_left
        self.elroy = (
            0 if self.elroy_off else 2 if left <= lv.elroy2 else 1 if left <= lv.elroy1 else 0
        )
        if self.fruit:
            rules.fruit_tick(self)
        for p in self.players_list:
            if p.power:
                p.power -= 1
            if p.protect:
                p.protect -= 1
            if p.state != ALIVE and (p.state == P_DYING or p.state == RESPAWNING):
                outcome.respawn(self, p)

    def _freeze(self) -> None:
        for _ in (0, 1):
            for g in self.ghosts:
                if g.state == G_EYES and g.id != self.frozen_ghost:
                    move_in_maze(self, g)
        if self.frame & 1:
            for g in self.ghosts:
                if g.state == G_ENTER:
                    house.move_in_house(self, g)
        self.timer -= 1
        if self.timer <= 0:
            self.phase = PLAYING
            self.frozen_ghost = -1

    # Deaths, levels, the end

    def emit(
        self, kind: EventKind, player: int | None, other: int | None, value: int, points: int
    ) -> None:
        """Record an event of this frame."""
        self.events.append(Event(kind, self.frame, player, other, value, points))

    def catch(self, p: Player, ghost: int | None) -> None:
        """Player `p` was caught by ghost `ghost` (or eaten by a rival when None)."""
        p.lives -= 1
        p.state = P_DYING
        p.timer = 0
        p.power = 0
        if ghost is not None:
            self.emit(EventKind.PLAYER_CAUGHT, p.id, ghost, 0, 0)
        self.emit(EventKind.LIFE_LOST, p.id, None, p.lives, 0)
        if not self.multi:
            self.phase = DYING
            self.timer = self.death_frames

    def clear_level(self) -> None:
        """All pellets are gone: flash the maze, then start the next level (or end the game)."""
        self.emit(EventKind.LEVEL_CLEARED, None, None, self.level, 0)
        levels.end_fright(self, False)
        self.fruit = int(Fruit.NONE)
        if self.level_limit and self.level >= self.level_limit:
            outcome.game_over(self, outcome.best(outcome.standing(self)) if self.multi else None)
            return
        self.phase = CLEAR
        self.timer = self.clear_frames

    # Snapshots

    def draw_bits(self, k: int) -> int:
        """`k` (at most 32) random bits from the game's RNG: one word."""
        self.rng_words += 1
        return self.rng.getrandbits(k)

    def draw_below(self, n: int) -> int:
        """A random number in `range(n)` (n < 2**32), drawn as `Random.randrange(n)` draws it,
        a word per try, so that seeded games stay the games they were."""
        k = n.bit_length()
        while True:
            self.rng_words += 1
            r = self.rng.getrandbits(k)
            if r < n:
                return r

    def to_state(self) -> dict[str, Any]:
        """Plain data (JSON-able) for a snapshot, RNG included; see `from_state`."""
        return state.to_state(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Arena:
        """Exact restore: the restored arena continues with the identical event stream."""
        return state.from_state(cls, data)

    # Output

    def view(self) -> ArenaView:
        """A compact, immutable picture of this frame for the network layer."""
        return present.view(self)

    def snapshot(self) -> Snapshot:
        """The same picture as `view()` as plain ints in tuples: what the frame encoder packs."""
        return present.snapshot(self)
