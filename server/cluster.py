"""Many processes, one set of rooms: the directory sessions use when REDIS_URL is set.

Each room has one owner process (a bus lease). This process keeps a `RoomHandle` for every
room it owns or has connections in; rooms elsewhere are known from the lobby presence group
(refreshed every second), resume tokens from a shared hash (plus a pub/sub nudge on each new
seat), lobby chat travels on the lobby channel. Every lease this process holds is renewed in
one bus call (`LeaseGroup`); the rooms' snapshots are written in batches, each room on its own
step of the snapshot period so that no step builds them all; a maintenance loop notices lost
leases, refreshes the directory, and takes over rooms whose owner went silent (or handed them
over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from server import protocol, relay, snapshot
from server.bus import Bus, BusUnavailable, LeaseGroup, keys
from server.chat import ChatLine
from server.directory import NEWS_BATCH_S, Directory
from server.game.view import Mode
from server.handle import RoomHandle
from server.owner import LEASE_TTL_S, SNAPSHOT_TTL_S, Owner
from server.room import Peer, Room, Seat
from server.rooms import Registry, RoomLike
from server.session import Connection

log = logging.getLogger("server.cluster")

TICK_S = 0.25  # maintenance period
SNAPSHOT_S = 0.5  # snapshots at least twice a second (a waiting room's only when it changed)
SNAPSHOT_SLOTS = 10  # steps of the snapshot period; each room is written on its own one
SLOT_ROOMS = 8  # rooms fill a step up to this many (about 2 ms of builds) before the next
DIRECTORY_S = 1.0  # room presence written and read back
STEADY_S = 2 * DIRECTORY_S  # quick play joins another process's room once its count held
LONELY_BELOW = 2  # ... and while it has fewer players than an arena needs to start
REATTACH_S = 3.0  # the owner lives but has been silent this long: re-attach our players
SILENCE_S = 1.0  # no frame from the owner this long: try to take the room over
HELD_INTENTS_MAX = 256  # intents for a room waiting for its channel's subscription
ORPHAN_S = 10.0  # no owner and no snapshot this long: the room is gone
# SIGTERM hand-over, all rooms at once. With the bus hung every call would wait for its
# socket timeout, room after room, past the orchestrator's stop timeout (ECS: 30 s); rooms
# not handed over in time are taken over by others from their last snapshot when the lease
# lapses.
HANDOVER_BUDGET_S = 3.0


class Cluster:
    """A `RoomDirectory` over the bus; the local `Registry` runs this process's rooms."""

    def __init__(self, registry: Registry, bus: Bus, proc: str) -> None:
        self.registry = registry
        self.config = registry.config
        self.bus = bus
        self.proc = proc
        self.handles: dict[str, RoomHandle] = {}
        self.owners: dict[str, Owner] = {}
        self.directory = Directory(registry, bus, proc)
        self.leases = LeaseGroup(bus, LEASE_TTL_S)
        self.takeovers = 0
        self._orphaned: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._snapshots: asyncio.Task[None] | None = None
        self._listeners: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._intents: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(4096)
        # Channels whose subscription Redis has confirmed. A room's intents wait for its frame
        # channel's (`_held`): the owner's answer to a join must not be published to nobody.
        self._subscribed: set[str] = set()
        self._held: dict[str, list[tuple[str, bytes]]] = {}
        registry.lobby_out = self._lobby_out
        registry.on_dispose.append(self._disposed)
        registry.on_seat_freed.append(self._seat_freed)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._listen(keys.LOBBY_CHANNEL, self.directory.on_lobby)
        self.leases.start()
        self._snapshots = asyncio.create_task(self._write_snapshots(), name="snapshots")
        self._tasks.append(self._snapshots)
        self._tasks.append(asyncio.create_task(self._maintain(), name="cluster"))
        self._tasks.append(asyncio.create_task(self._send_intents(), name="intents"))
        with contextlib.suppress(BusUnavailable):
            await self.directory.load_lobby_history()

    async def close(self) -> None:
        for owner in list(self.owners.values()):
            await owner.stop()
        tasks = [*self._tasks, *self._listeners.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.leases.stop()

    async def hand_over(self, budget_s: float = HANDOVER_BUDGET_S) -> None:
        """SIGTERM: stop running rooms here and let other processes take them at once."""
        owners = list(self.owners.items())
        if self._snapshots is not None:  # each room's final snapshot is the last one written
            self._snapshots.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._snapshots
        for _, owner in owners:
            self.registry.let_go(owner.room)
        tasks = [asyncio.create_task(owner.hand_over()) for _, owner in owners]
        leaving = asyncio.create_task(self.directory.leave())
        await asyncio.wait([*tasks, leaving], timeout=budget_s)
        if not leaving.done():
            leaving.cancel()  # a marker left behind is one stale field, nothing more
        for (code, owner), task in zip(owners, tasks, strict=True):
            if task.done() and not task.cancelled() and task.exception() is None:
                log.info("room handed over", extra={"room": code})
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await owner.stop()  # no bus calls: the lease lapses by itself
                log.warning(
                    "room not handed over in time; its lease will lapse", extra={"room": code}
                )
            del self.owners[code]
            self._stop_listening(keys.room_intents(code))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _listen(self, channel: str, handler: Callable[[bytes], None]) -> None:
        if channel not in self._listeners:
            task = asyncio.create_task(self._listener(channel, handler), name=f"sub:{channel}")
            self._listeners[channel] = task

    def _stop_listening(self, channel: str) -> None:
        task = self._listeners.pop(channel, None)
        if task is not None:
            task.cancel()
        self._subscribed.discard(channel)
        self._held.pop(channel, None)

    async def _listener(self, channel: str, handler: Callable[[bytes], None]) -> None:
        while True:
            self._subscribed.discard(channel)  # until Redis confirms (again)
            try:
                async with self.bus.subscribe(channel) as sub:
                    self._subscribed.add(channel)
                    for intent in self._held.pop(channel, ()):
                        self._queue_intent(intent)
                    async for message in sub:
                        try:
                            handler(message.data)
                        except Exception:
                            log.exception("bus message failed", extra={"channel": channel})
            except BusUnavailable:
                await asyncio.sleep(0.5)

    # --- RoomDirectory ---------------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        return self.registry.draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self.registry.draining = value

    def create(self, mode: Mode, private: bool) -> RoomLike:
        room = self.registry.create(mode, private, taken=list(self.directory.remote))
        handle = self._own(room, lease=None)
        self._spawn(self.directory.announce(room))
        return handle

    def find(self, code: str) -> RoomLike | None:
        handle = self.handles.get(code)
        if handle is not None and not handle.closed:
            return handle
        if code in self.directory.remote:
            return self._handle(code)
        return None

    def quick_play(self, mode: Mode) -> RoomLike:
        # This process's own rooms first (fullest first): their players cost no relay, and a
        # load balancer spreading arrivals evenly fills every process's rooms. Another
        # process's room only when no room here has a seat, and only a lonely one (one
        # player waiting, the count unchanged for a while), so that a few players online
        # still meet. The count here is a second or two old: a room its owner is filling may
        # be full by the time the join arrives, and then the owner sends the player back to
        # be seated here (`_seat_here`). Sending a seat there counts as a change of its
        # count, so it is not lonely again for a while.
        here = self._room_here_with_a_seat(mode)
        if here is not None:
            return here
        best: tuple[int, str] | None = None
        for code, info in self.directory.remote.items():
            usable = info["mode"] == protocol.MODE_NAMES[mode] and not info["private"]
            players = int(info["players"])
            lonely = info.get("state") == "waiting" and players < LONELY_BELOW
            if usable and lonely and self.directory.steady_for(code) >= STEADY_S:
                best = max(best or (-1, ""), (players, code))
        if best is not None:
            found = self.find(best[1])
            if found is not None:
                if best[1] not in self.registry.rooms:
                    self.directory.seat_sent(best[1])
                return found
        return self.create(mode, private=False)

    def _room_here_with_a_seat(self, mode: Mode) -> RoomLike | None:
        """This process's fullest public room of `mode` with a free seat."""
        best: tuple[int, str] | None = None
        for room in self.registry.rooms.values():
            if room.mode is mode and not room.private and not room.closed and room.has_free_seat():
                best = max(best or (-1, ""), (len(room.seats), room.code))
        return self.find(best[1]) if best is not None else None

    def _seat_here(self, peer: Peer, name: str, mode_name: str) -> None:
        """Quick play sent `peer` to another process's room, which filled up before the join
        arrived: seat them in a room of this process instead (never another process's: that
        one could fill up too), and move their session there."""
        mode = protocol.MODES.get(mode_name, Mode.ARENA)
        room = self._room_here_with_a_seat(mode) or self.create(mode, private=False)
        seat = room.quick_join(peer, name)
        if seat is not None:
            self.register_seat(room, seat)
        if isinstance(peer, Connection):
            peer.moved(room)
        log.info("quick play seat found here instead", extra={"room": room.code})

    def seat_for(self, token: str) -> tuple[RoomLike, Seat] | None:
        held = self.registry.seat_for(token)
        if held is None:
            return None
        room, seat = held
        return self.handles.get(room.code) or self._own(room, None), seat

    def seat_elsewhere(self, token: str, peer: Peer) -> None:
        self._spawn(self._resume_elsewhere(token, peer))

    async def _resume_elsewhere(self, token: str, peer: Peer) -> None:
        """Look `token` up in the shared hash; if its room runs on another process and `peer`
        still waits in the lobby, put the peer back in its seat there."""
        code = await self.directory.room_of(token)
        if code is None:  # a seat taken a moment ago: its token goes out with the next news
            await asyncio.sleep(2 * NEWS_BATCH_S)
            code = await self.directory.room_of(token)
        if code is None or code in self.registry.rooms or peer not in self.registry.lobby:
            return  # unknown, a room of ours that no longer has the seat, or the peer moved on
        handle = self._handle(code)
        self.registry.leave_lobby(peer)
        if isinstance(peer, Connection):
            peer.moved(handle)
        handle.resume(Seat(-1, "", token, None), peer)

    def register_seat(self, room: RoomLike, seat: Seat) -> None:
        self.registry.tokens[seat.token] = room.code
        self._spawn(self.directory.publish_token(seat.token, room.code))

    def enter_lobby(self, peer: Peer) -> None:
        self.registry.enter_lobby(peer)

    def leave_lobby(self, peer: Peer) -> None:
        self.registry.leave_lobby(peer)

    def lobby_chat(self, peer: Peer, name: str, raw: str) -> None:
        self.registry.lobby_chat(peer, name, raw)

    # --- handles and owners ----------------------------------------------------------------------

    def _handle(self, code: str) -> RoomHandle:
        handle = self.handles.get(code)
        if handle is None or handle.closed:
            handle = RoomHandle(code, self.proc, self._intent_for(code), self._seat_here)
            # Nothing heard yet: try for the room soon if no owner speaks up.
            handle.last_heard = time.monotonic() - SILENCE_S + 0.3
            self.handles[code] = handle
            self._listen_room(handle)
        return handle

    def _listen_room(self, handle: RoomHandle) -> None:
        def on_message(data: bytes) -> None:
            self._on_room(handle, data)

        self._listen(keys.room_frames(handle.code), on_message)

    def _own(self, room: Room, lease: Any) -> RoomHandle:
        handle = self.handles.get(room.code)
        if handle is None or handle.closed:
            handle = RoomHandle(room.code, self.proc, self._intent_for(room.code), self._seat_here)
            self.handles[room.code] = handle
        handle.local = room
        self._stop_listening(keys.room_frames(room.code))
        owner = Owner(room, self.bus, self.proc, self.config, self.leases)
        owner.on_seat = self.register_seat
        owner.slot = self._snapshot_slot()
        owner.start()
        if lease is not None:
            owner.adopt_lease(lease)
        else:
            self._spawn(owner.keep())
        self.owners[room.code] = owner
        code = room.code
        self._listen(keys.room_intents(code), lambda data: self._on_intent(code, data))
        return handle

    def _snapshot_slot(self) -> int:
        """A step for a new room's snapshots: the fullest one with room to spare, so that a few
        rooms share one bus call; once every step holds SLOT_ROOMS, the emptiest one."""
        taken = Counter(o.slot for o in self.owners.values())
        spare = [slot for slot in range(SNAPSHOT_SLOTS) if taken[slot] < SLOT_ROOMS]
        if spare:
            return max(spare, key=lambda slot: taken[slot])
        return min(range(SNAPSHOT_SLOTS), key=lambda slot: taken[slot])

    def _intent_for(self, code: str) -> Callable[..., None]:
        channel = keys.room_intents(code)
        answers = keys.room_frames(code)

        def send(op: str, conn: str, **args: Any) -> None:
            intent = (channel, relay.encode_intent(op, self.proc, conn, **args))
            if answers in self._listeners and answers not in self._subscribed:
                # Not subscribed to the room's channel yet (a few ms, longer under load):
                # the owner's answer would be lost, so the intent waits for the subscription.
                held = self._held.setdefault(answers, [])
                if len(held) < HELD_INTENTS_MAX:
                    held.append(intent)
                return
            self._queue_intent(intent)

        return send

    def _queue_intent(self, intent: tuple[str, bytes]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._intents.put_nowait(intent)

    async def _send_intents(self) -> None:
        while True:
            channel, data = await self._intents.get()
            with contextlib.suppress(BusUnavailable):
                await self.bus.publish(channel, data)

    def _on_intent(self, code: str, data: bytes) -> None:
        owner = self.owners.get(code)
        if owner is not None and not owner.room.closed:
            owner.intent(relay.decode_intent(data))

    def _on_room(self, handle: RoomHandle, data: bytes) -> None:
        msg = relay.decode(data)
        if isinstance(msg, relay.RelayedFrame):
            handle.on_frame(msg)
        else:
            handle.on_text(msg)
        if handle.closed and not handle.members:
            self._drop_handle(handle)

    def _drop_handle(self, handle: RoomHandle) -> None:
        if self.handles.get(handle.code) is handle:
            del self.handles[handle.code]
        self._stop_listening(keys.room_frames(handle.code))

    def _disposed(self, room: Room) -> None:
        owner = self.owners.pop(room.code, None)
        if owner is not None:
            self._spawn(owner.dispose())
        self._stop_listening(keys.room_intents(room.code))
        self.handles.pop(room.code, None)  # its sessions see the room closed
        self._spawn(self.directory.forget_tokens([s.token for s in room.seats.values()]))

    def _seat_freed(self, token: str) -> None:
        self._spawn(self.directory.forget_tokens([token]))

    # --- maintenance -----------------------------------------------------------------------------

    async def _maintain(self) -> None:
        last_directory = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            try:
                await self._keep_leases()
                await self._take_over_silent(now)
                if now - last_directory >= DIRECTORY_S:
                    last_directory = now
                    await self.directory.refresh(self.owners)
            except BusUnavailable:
                pass
            except Exception:
                log.exception("cluster maintenance failed")
            for handle in list(self.handles.values()):
                if handle.local is None and not handle.members:
                    self._drop_handle(handle)

    async def _write_snapshots(self) -> None:
        """Every room's snapshot once per SNAPSHOT_S: one step in SNAPSHOT_SLOTS writes the
        rooms of its slot, in one bus call."""
        loop = asyncio.get_running_loop()
        step = SNAPSHOT_S / SNAPSHOT_SLOTS
        slot, due = 0, loop.time()
        while True:
            due = max(due + step, loop.time())  # after a stall, carry on from now
            await asyncio.sleep(due - loop.time())
            slot = (slot + 1) % SNAPSHOT_SLOTS
            try:
                await self._write_slot(slot)
            except BusUnavailable:
                pass
            except Exception:
                log.exception("writing snapshots failed")

    async def _write_slot(self, slot: int) -> None:
        """The snapshots of the rooms of `slot`, and of new ones (`Owner.due`), in one call."""
        made = []
        for owner in [o for o in self.owners.values() if o.slot == slot or o.due]:
            snap = owner.snapshot()
            if snap is not None:
                made.append((owner, *snap))
                await asyncio.sleep(0)  # a build takes a while: let a tick in between
        # a room disposed, stepped down or handed over during the builds is not ours to write
        made = [m for m in made if m[0].holding and self.owners.get(m[0].room.code) is m[0]]
        if made:
            batch = {keys.room_snapshot(owner.room.code): data for owner, data, _ in made}
            await self.bus.set_many(batch, SNAPSHOT_TTL_S)
            for owner, _, mark in made:
                owner.saved(mark)

    async def _keep_leases(self) -> None:
        for code, owner in list(self.owners.items()):
            if await owner.keep():
                continue
            log.warning("room owned elsewhere now: stepping down", extra={"room": code})
            del self.owners[code]
            self.registry.let_go(owner.room)
            await owner.stop()
            self._stop_listening(keys.room_intents(code))
            handle = self.handles.get(code)
            if handle is not None:
                self._listen_room(handle)
                handle.become_remote()

    async def _take_over_silent(self, now: float) -> None:
        for code, handle in list(self.handles.items()):
            if handle.local is not None or not handle.members or self.draining:
                continue
            if not handle.handover and now - handle.last_heard < SILENCE_S:
                continue
            await self._try_take_over(code, handle, now)

    async def _try_take_over(self, code: str, handle: RoomHandle, now: float) -> None:
        lease = await self.bus.acquire_lease(keys.room_owner(code), self.proc, LEASE_TTL_S)
        if lease is None:
            self._orphaned.pop(code, None)
            if now - handle.last_heard >= REATTACH_S:
                # The owner is alive but not serving our players (their intents were lost,
                # say in a bus outage): introduce them again.
                handle.last_heard = now
                handle.reattach()
            return
        raw = await self.bus.get(keys.room_snapshot(code))
        if raw is None:
            await self.bus.release_lease(lease)
            since = self._orphaned.setdefault(code, now)
            if now - since > ORPHAN_S:
                handle.gone("the room is gone")
                self._drop_handle(handle)
            return
        self._orphaned.pop(code, None)
        reg = self.registry
        room = snapshot.restore(
            raw,
            self.config,
            reg.history,
            reg.scheduler.now_tick(),
            reg._changed,
            reg._dispose,
            reg._seat_freed,
        )
        reg.adopt(room)
        self._own(room, lease)
        handle.handover = False
        handle.become_local(room, self.register_seat)
        self.owners[code].announce()
        self.takeovers += 1
        log.info("room taken over", extra={"room": code, "epoch": lease.epoch})
        await self.owners[code].save()

    def _lobby_out(self, line: ChatLine) -> None:
        self._spawn(self.directory.publish_lobby(line))
