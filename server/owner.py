"""Running a room for the whole cluster: its lease, relayed players' intents, one publish per frame.

The owner holds the room's lease (renewed with every other lease of the process by the
cluster's `LeaseGroup`; its epoch stamps every message), applies intents that other processes
send for their players (each such player is a `RemotePeer` in the room), publishes each state
frame once to the room channel, and makes the room's snapshot for whoever takes over (the
cluster writes every room's snapshot in batches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from server import protocol, relay, snapshot
from server.bus import Bus, BusUnavailable, HeldLease, Lease, LeaseGroup, keys
from server.chat import ChatLimiter
from server.config import Config
from server.game.view import Direction
from server.observer import RoomObserver
from server.relay import RelayedFrame, RelayedText, RemotePeer
from server.room import Room, Seat

log = logging.getLogger("server.owner")

LEASE_TTL_S = 2.0  # a dead owner's room is free again this long after its last renewal
SNAPSHOT_TTL_S = 3600.0
QUEUE_MAX = 256  # publishes waiting while the bus is slow; older ones are dropped first


class Owner(RoomObserver):
    """This process runs `room`; relays it to the rest of the cluster."""

    def __init__(self, room: Room, bus: Bus, proc: str, config: Config, leases: LeaseGroup) -> None:
        self.room = room
        self.bus = bus
        self.proc = proc
        self.config = config
        self.leases = leases
        self.lease: Lease | None = None
        self.held: HeldLease | None = None
        self.epoch = 0
        self.slot = 0  # which step of the snapshot period writes this room's snapshot
        self.due = False  # ... or the very next step (a new lease: no snapshot of it yet)
        self._saved: tuple[object, ...] | None = None  # snapshot.mark() of the last one written
        self.stubs: dict[str, RemotePeer] = {}
        self.want_keyframe = False
        self.published = 0  # room-channel messages sent
        self._seq = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_MAX)
        self._tasks: list[asyncio.Task[None]] = []
        self.on_seat: Any = None  # set by the cluster: (room, seat) -> None, registers tokens
        room.observers.append(self)

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._publisher(), name=f"pub:{self.room.code}"))

    @property
    def holding(self) -> bool:
        return self.lease is not None and self.held is not None and not self.held.lost.is_set()

    # --- the lease -------------------------------------------------------------------------------

    def adopt_lease(self, lease: Lease) -> None:
        self.lease = lease
        self.epoch = lease.epoch
        self.held = self.leases.add(lease)

    async def keep(self) -> bool:
        """Hold (or win back) the lease; False when another process holds it: step down."""
        if self.holding:
            return True
        if self.held is not None:
            self.leases.drop(self.held)
            self.held = self.lease = None
        key = keys.room_owner(self.room.code)
        try:
            lease = await self.bus.acquire_lease(key, self.proc, LEASE_TTL_S)
            if lease is None:
                holder = await self.bus.get_lease(key)
                return holder is None or holder.owner == self.proc
        except BusUnavailable:
            return True  # nobody can take it while the bus is down; keep playing
        self.adopt_lease(lease)
        log.info("room lease held", extra={"room": self.room.code, "epoch": lease.epoch})
        self.due = True  # a first snapshot with the next batch, whatever the room's slot
        return True

    async def save(self) -> None:
        """Write the snapshot now, unless it is the one last written (only while holding the
        lease: a stale owner must not)."""
        made = self.snapshot()
        if made is None:
            return
        data, mark = made
        with contextlib.suppress(BusUnavailable):
            await self.bus.set(keys.room_snapshot(self.room.code), data, SNAPSHOT_TTL_S)
            self.saved(mark)

    def snapshot(self) -> tuple[bytes, tuple[object, ...] | None] | None:
        """The snapshot to write and its mark, for a batch; None while not holding the lease or
        when the room has not changed since the last one written (call `saved` once written)."""
        if not self.holding:
            return None
        mark = snapshot.mark(self.room, self.epoch)
        if mark is not None and mark == self._saved:
            return None
        return snapshot.dump(self.room, self.epoch), mark

    def saved(self, mark: tuple[object, ...] | None) -> None:
        """The snapshot with this mark is on the bus."""
        self._saved = mark
        self.due = False

    def announce(self) -> None:
        """Tell processes with players here that this process runs the room now."""
        self._put(relay.encode_text(RelayedText(self.epoch, event="owner")))

    async def hand_over(self) -> None:
        """Final snapshot, lease released, other processes told to take the room now."""
        await self.save()
        self._put(relay.encode_text(RelayedText(self.epoch, event="handover")))
        await self._flush_queue()
        if self.held is not None:
            await self.leases.release(self.held)
        await self.stop()

    async def dispose(self) -> None:
        """The room is gone: tell relayed players' processes, drop its keys."""
        self._put(relay.encode_text(RelayedText(self.epoch, event="closed")))
        await self._flush_queue()
        if self.held is not None:
            await self.leases.release(self.held)
        with contextlib.suppress(BusUnavailable):
            await self.bus.delete(keys.room_snapshot(self.room.code))
            await self.bus.presence_remove(keys.LOBBY_ROOMS, self.room.code)
        await self.stop()

    async def stop(self) -> None:
        if self in self.room.observers:
            self.room.observers.remove(self)
        if self.held is not None:
            self.leases.drop(self.held)  # not released: it lapses unless handed over first
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    # --- publishing (RoomObserver) --------------------------------------------------------------

    def frame(self, room: Room, frame: protocol.EncodedFrame, everyone_keyframe: bool) -> None:
        if not self.stubs:
            return  # nobody elsewhere is watching: no bus traffic at all
        keyframe = None
        if everyone_keyframe or self.want_keyframe or frame.delta is None:
            keyframe = protocol.ws_binary_frame(frame.keyframe())
        delta = None if frame.delta is None else protocol.ws_binary_frame(frame.delta)
        self.want_keyframe = False
        self._seq += 1
        self._put(
            relay.encode_frame(
                RelayedFrame(self.epoch, self._seq, everyone_keyframe, delta, keyframe)
            )
        )

    def broadcast(self, room: Room, data: str) -> None:
        if self.stubs:
            self._send(RelayedText(0, text=data))

    def _send(self, text: RelayedText) -> None:
        stamped = RelayedText(self.epoch, text.text, text.to, text.close, text.event)
        self._put(relay.encode_text(stamped))

    def _put(self, data: bytes) -> None:
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(data)

    async def _publisher(self) -> None:
        channel = keys.room_frames(self.room.code)
        while True:
            data = await self._queue.get()
            try:
                await self.bus.publish(channel, data)
                self.published += 1
            except BusUnavailable:
                pass  # relayed players miss this one; the seq gap gets them a keyframe
            finally:
                self._queue.task_done()

    async def _flush_queue(self) -> None:
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # not wait_for, which may swallow a cancel
                    await self._queue.join()

    def drop_dead(self, dead: set[str]) -> None:
        """Relayed players of processes that died: their connections are gone (seats held)."""
        for address, stub in list(self.stubs.items()):
            if address.partition("/")[0] in dead:
                del self.stubs[address]
                self.room.disconnect(stub)

    # --- intents from other processes ------------------------------------------------------------

    def intent(self, msg: dict[str, Any]) -> None:
        """Apply one intent for a relayed player (errors go back to that player only)."""
        op = msg["op"]
        if op == "keyframe":
            self.want_keyframe = True
            return
        address = f"{msg['proc']}/{msg['conn']}"
        room = self.room
        stub = self.stubs.get(address)
        if op in ("join", "resume") and stub is None:
            limiter = ChatLimiter(self.config.chat_lines_per_10s, time.monotonic())
            stub = self.stubs[address] = RemotePeer(address, limiter, self._send)
        if stub is None:
            return
        try:
            if op == "join":
                if room.seat_of(stub) is not None or stub in room.spectators:
                    return  # a repeated introduction: already here
                if msg.get("quick") and not room.has_free_seat():
                    # Quick play found a seat here from counts a second old, and the room
                    # filled meanwhile: the player's process seats them elsewhere.
                    del self.stubs[address]
                    mode = protocol.MODE_NAMES[room.mode]
                    self._send(RelayedText(0, mode, address, None, "full"))
                    return
                seat = room.join(stub, str(msg["name"]), bool(msg.get("spectate")))
                if seat is not None and self.on_seat is not None:
                    self.on_seat(room, seat)
            elif op == "resume":
                seat = _seat(room, str(msg.get("token")))
                if seat is None:
                    del self.stubs[address]
                    stub.send_text(protocol.error("room_not_found", "your seat is gone"))
                    stub.send_text(protocol.left())
                    return
                room.resume(seat, stub)
            elif op in ("leave", "disconnect"):
                del self.stubs[address]
                (room.leave if op == "leave" else room.disconnect)(stub)
            elif op == "input":
                room.input(stub, Direction(int(msg["d"])), time.monotonic())
            elif op == "chat":
                room.chat(stub, str(msg["text"]), time.monotonic())
            elif op == "start":
                room.start(stub)
        except protocol.ProtocolError as exc:
            stub.send_text(protocol.error(exc.code, exc.message, exc.ref))


def _seat(room: Room, token: str) -> Seat | None:
    return next((s for s in room.seats.values() if s.token == token), None)
