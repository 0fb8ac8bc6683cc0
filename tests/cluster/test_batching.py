"""One process's rooms share their bus calls: leases, snapshots, the lobby listing (both buses).

A `Cluster` runs in this process over the bus under test, its rooms on a fake clock; the
maintenance steps are called by hand instead of from their loops.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from server import snapshot
from server.bus import keys
from server.cluster import SLOT_ROOMS, SNAPSHOT_SLOTS, Cluster
from server.directory import ROOM_TTL_S, TOKENS, Directory
from server.game.view import Mode
from server.room import Room, Seat
from tests.server.test_room import RecordingPeer, World
from tests.support.backends import Backend


class Process:
    def __init__(self, backend: Backend) -> None:
        self.world = World(countdown_s=0.0)
        self.cluster = Cluster(self.world.registry, backend.bus, "p1")
        self.bus = backend.bus

    async def create(self) -> Room:
        handle = self.cluster.create(Mode.ARENA, private=False)
        await asyncio.gather(*self.cluster._background)  # lease taken, room announced
        room = self.world.registry.rooms[handle.code]
        owner = self.cluster.owners[room.code]
        assert owner.holding and owner.due
        # the first snapshot goes with the next step, whichever slot the room has
        await self.cluster._write_slot((owner.slot + 1) % SNAPSHOT_SLOTS)
        assert not owner.due and await self.written(room)
        return room

    async def create_with_seat(self) -> tuple[Room, Seat]:
        """A new room with Ada in it."""
        room = await self.create()
        seat = room.join(RecordingPeer(), "Ada", spectate=False)
        assert seat is not None
        return room, seat

    def play(self, *rooms: Room) -> None:
        """Two players in each room, playing (a playing room's snapshot is written every time)."""
        for room in rooms:
            room.join(RecordingPeer(), "Ada", spectate=False)
            room.join(RecordingPeer(), "Bob", spectate=False)
        self.world.run(0.5)
        assert all(room.state == "playing" for room in rooms)

    async def written(self, room: Room) -> bool:
        return await self.bus.get(keys.room_snapshot(room.code)) is not None

    async def forget_snapshots(self, *rooms: Room) -> None:
        await self.bus.delete(*(keys.room_snapshot(r.code) for r in rooms))

    async def write_period(self) -> None:
        for slot in range(SNAPSHOT_SLOTS):
            await self.cluster._write_slot(slot)


@pytest.fixture
async def proc(backend: Backend) -> AsyncIterator[Process]:
    made = Process(backend)
    try:
        yield made
    finally:
        await made.cluster.close()


async def test_a_waiting_room_is_written_again_only_when_it_changed(proc: Process) -> None:
    room = await proc.create()
    ada = RecordingPeer()
    room.join(ada, "Ada", spectate=False)
    await proc.write_period()
    assert snapshot.peek(await proc.bus.get(keys.room_snapshot(room.code)) or b"")["seats"]
    await proc.forget_snapshots(room)
    proc.world.run(1.0)
    await proc.write_period()
    assert not await proc.written(room)  # waiting, unchanged: nothing written
    room.chat(ada, "anyone?", 0.0)
    await proc.write_period()
    raw = await proc.bus.get(keys.room_snapshot(room.code))
    assert raw is not None and "anyone?" in [line[1] for line in snapshot.peek(raw)["chat"]]
    bob = RecordingPeer()
    room.join(bob, "Bob", spectate=False)
    proc.world.run(0.5)
    assert room.state == "playing"
    for _ in range(2):  # a playing room: every period
        await proc.forget_snapshots(room)
        proc.world.run(0.5)
        await proc.write_period()
        assert await proc.written(room)


async def test_snapshots_are_spread_over_the_period(proc: Process) -> None:
    rooms = [await proc.create() for _ in range(30)]
    slots = Counter(proc.cluster.owners[r.code].slot for r in rooms)
    # a few rooms share a step (one bus call), more spread over every step
    assert sorted(slots.values(), reverse=True) == [8, 8, 8, 6]
    proc.play(*rooms)
    await proc.forget_snapshots(*rooms)
    for slot in range(SNAPSHOT_SLOTS):
        await proc.cluster._write_slot(slot)
        written = [r for r in rooms if await proc.written(r)]
        assert len(written) == sum(n for s, n in slots.items() if s <= slot)
    assert len(written) == 30
    more = [await proc.create() for _ in range(70)]
    slots = Counter(proc.cluster.owners[r.code].slot for r in rooms + more)
    assert len(slots) == SNAPSHOT_SLOTS
    assert max(slots.values()) <= max(SLOT_ROOMS, math.ceil(100 / SNAPSHOT_SLOTS))


async def test_a_lost_lease_steps_down_that_room_only(proc: Process, backend: Backend) -> None:
    lost, kept = await proc.create(), await proc.create()
    proc.play(lost, kept)
    await proc.cluster.leases.renew()  # both renewed in one call
    # another process holds the first room's lease now (it lapsed, say, in a long pause)
    await proc.bus.delete(keys.room_owner(lost.code))
    other = await backend.peer().acquire_lease(keys.room_owner(lost.code), "p2", 30)
    assert other is not None
    await proc.cluster.leases.renew()
    assert not proc.cluster.owners[lost.code].holding
    assert proc.cluster.owners[kept.code].holding
    await proc.forget_snapshots(lost, kept)
    proc.world.run(0.1)
    await proc.write_period()
    assert not await proc.written(lost)  # a stale owner writes no snapshot
    assert await proc.written(kept)
    await proc.cluster._keep_leases()
    assert lost.code not in proc.cluster.owners and lost.code not in proc.world.registry.rooms
    assert kept.code in proc.cluster.owners and proc.cluster.owners[kept.code].holding
    assert await proc.bus.get_lease(keys.room_owner(lost.code)) == other
    assert await proc.bus.get_lease(keys.room_owner(kept.code)) is not None


async def test_the_lobby_listing_is_written_for_every_room_at_once(
    proc: Process, backend: Backend
) -> None:
    rooms = [await proc.create() for _ in range(3)]
    await proc.bus.delete(keys.LOBBY_ROOMS, f"{keys.LOBBY_ROOMS}:data")
    await proc.cluster.directory.refresh(proc.cluster.owners)
    listed = await backend.peer().presence_list(keys.LOBBY_ROOMS)
    assert sorted(listed) == sorted(r.code for r in rooms)
    rooms[0].join(RecordingPeer(), "Ada", spectate=False)
    await proc.cluster.directory.refresh(proc.cluster.owners)
    listed = await backend.peer().presence_list(keys.LOBBY_ROOMS)
    assert b'"players": 1' in listed[rooms[0].code]
    assert b'"players": 0' in listed[rooms[1].code]
    await backend.advance(ROOM_TTL_S * 0.7)
    await proc.cluster.directory.refresh(proc.cluster.owners)  # refreshed: alive past the TTL
    await backend.advance(ROOM_TTL_S * 0.7)
    assert len(await backend.peer().presence_list(keys.LOBBY_ROOMS)) == 3


async def test_new_rooms_and_seats_tokens_go_out_together(proc: Process, backend: Backend) -> None:
    peer = backend.peer()
    async with peer.subscribe(keys.LOBBY_CHANNEL) as lobby:
        handles = [proc.cluster.create(Mode.ARENA, private=False) for _ in range(4)]
        rooms = [proc.world.registry.rooms[h.code] for h in handles]
        seats = []
        for room in rooms[:3]:
            for name in ("Ada", "Bob", "Cy", "Dee"):
                seat = room.join(RecordingPeer(), name, spectate=False)
                assert seat is not None
                proc.cluster.register_seat(room, seat)
                seats.append((seat.token, room.code))
        await asyncio.sleep(0)  # the announcing and publishing tasks start
        # a room closed and a seat freed before the news went out are not shared at all
        proc.world.run(1 / 60)  # the room nobody joined closes at its first tick
        assert rooms.pop().closed
        gone = seats.pop()
        await proc.cluster.directory.forget_tokens([gone[0]])
        await asyncio.gather(*proc.cluster._background)
        message = await asyncio.wait_for(lobby.get(), 5)
        assert message is not None
        body = json.loads(message.data)
        assert body["k"] == "news" and "tokens" not in body  # one message, the rooms only
        assert sorted(body["rooms"]) == sorted(r.code for r in rooms)
        assert body["rooms"][rooms[0].code]["players"] == 4
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(lobby.get(), 0.2)  # and nothing else
    shared = await peer.hgetall(TOKENS)
    assert {t: code.decode() for t, code in shared.items()} == dict(seats)
    assert sorted(await peer.presence_list(keys.LOBBY_ROOMS)) == sorted(r.code for r in rooms)
    other = Directory(World(countdown_s=0.0).registry, peer, "p2")
    other.on_lobby(message.data)
    assert sorted(other.remote) == sorted(r.code for r in rooms)
    for token, code in seats:
        assert await other.room_of(token) == code  # looked up in the hash, one at a time
    assert await other.room_of(gone[0]) is None


def test_news_from_processes_of_older_releases_is_still_read() -> None:
    directory = Directory(World(countdown_s=0.0).registry, None, "p2")  # type: ignore[arg-type]
    info = {"mode": "arena", "players": 1, "max": 8, "spectators": 0, "state": "waiting",
            "private": False, "owner": "p1"}  # fmt: skip
    directory.on_lobby(json.dumps({"k": "room", "room": "ABCDE", "info": info}).encode())
    # their token messages are read and left: tokens are looked up in the hash when needed
    directory.on_lobby(json.dumps({"k": "token", "token": "t1", "room": "ABCDE"}).encode())
    directory.on_lobby(json.dumps({"k": "tokens", "tokens": {"t2": "ABCDE"}}).encode())
    directory.on_lobby(json.dumps({"k": "news", "tokens": {"t3": "ABCDE"}, "rooms": {}}).encode())
    assert directory.remote == {"ABCDE": info}


async def test_seats_tokens_are_written_again_only_when_the_hash_was_lost(
    proc: Process, backend: Backend
) -> None:
    room, seat = await proc.create_with_seat()
    directory = proc.cluster.directory
    await directory.refresh(proc.cluster.owners)  # the first refresh writes them, and its mark
    peer = backend.peer()
    assert (await peer.hget(TOKENS, seat.token)) == room.code.encode()
    # While its own mark is there, a refresh writes nothing (and reads no one else's tokens).
    await peer.hdel(TOKENS, seat.token)
    await directory.refresh(proc.cluster.owners)
    assert await peer.hget(TOKENS, seat.token) is None
    # Redis restarted empty: the mark is gone with the tokens, so they are all written again.
    await peer.delete(TOKENS)
    await directory.refresh(proc.cluster.owners)
    assert (await peer.hget(TOKENS, seat.token)) == room.code.encode()
    # A process that stops takes its mark away.
    await directory.leave()
    assert sorted(await peer.hgetall(TOKENS)) == [seat.token]


async def test_a_token_held_by_another_process_brings_the_player_back_there(
    proc: Process, backend: Backend
) -> None:
    room, seat = await proc.create_with_seat()
    proc.cluster.register_seat(room, seat)
    await asyncio.gather(*proc.cluster._background)  # the token goes out with the news
    other_world = World(countdown_s=0.0)
    other = Cluster(other_world.registry, backend.peer(), "p2")
    try:
        assert other.seat_for(seat.token) is None  # nothing of it held there
        waiting, moved_on, stranger = RecordingPeer(), RecordingPeer(), RecordingPeer()
        for peer in (waiting, moved_on, stranger):
            other_world.registry.enter_lobby(peer)
        other_world.registry.leave_lobby(moved_on)  # e.g. it joined a room while we looked
        await other._resume_elsewhere(seat.token, waiting)
        await other._resume_elsewhere(seat.token, moved_on)
        await other._resume_elsewhere("no-such-token", stranger)
        assert waiting not in other_world.registry.lobby
        assert room.code in other.handles  # relayed to the owner from here on
        assert other_world.registry.lobby == {stranger}
        # The owner itself looks in its own rooms only: a seat it no longer has is not found.
        proc.world.registry.lobby.add(stranger)
        await proc.cluster._resume_elsewhere("no-such-token", stranger)
        assert stranger in proc.world.registry.lobby
    finally:
        await other.close()


async def test_the_room_list_is_decoded_again_only_where_it_changed(
    proc: Process, backend: Backend
) -> None:
    quiet, busy = await proc.create(), await proc.create()
    await proc.cluster.directory.refresh(proc.cluster.owners)
    other = Directory(World(countdown_s=0.0).registry, backend.peer(), "p2")
    await other.refresh({})
    first = dict(other.remote)
    assert sorted(first) == sorted([quiet.code, busy.code])
    busy.join(RecordingPeer(), "Ada", spectate=False)
    await proc.cluster.directory.refresh(proc.cluster.owners)
    await backend.peer().presence_set_many(keys.LOBBY_ROOMS, {"BROKE": b"{not json"}, ROOM_TTL_S)
    await other.refresh({})
    assert other.remote[busy.code]["players"] == 1  # changed: read again
    assert other.remote[quiet.code] is first[quiet.code]  # unchanged: not decoded again
    assert "BROKE" not in other.remote
