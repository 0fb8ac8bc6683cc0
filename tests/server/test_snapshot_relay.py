"""Room snapshots restore exactly; the relay wire round-trips; handles ignore stale owners."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

from server import protocol, relay, snapshot
from server.chat import MemoryChatHistory
from server.game.rules import start_fright
from server.game.state import full_rng_state
from server.game.view import Direction, Mode
from server.handle import RoomHandle
from server.relay import RelayedFrame, RelayedText
from server.room import Room
from server.rooms import Registry
from tests.server.test_room import RecordingPeer, World


def test_snapshot_restores_the_game_seats_and_chat_exactly() -> None:
    world = World(countdown_s=0.0)
    room = world.registry.create(Mode.ARENA, private=False)
    a, b = RecordingPeer(), RecordingPeer()
    seat_a = room.join(a, "Ada", spectate=False)
    seat_b = room.join(b, "Bob", spectate=False)
    assert seat_a is not None and seat_b is not None
    room.chat(a, "hello", 0.0)
    room.input(a, Direction.LEFT, 0.0)
    world.run(2.0)
    raw = snapshot.dump(room, epoch=7)

    other = World(countdown_s=0.0)  # another process: its own clock, scheduler and history
    other.clock.t = 500.0
    copy = snapshot.restore(
        raw,
        other.config,
        other.registry.history,
        other.scheduler.now_tick(),
        other.registry._changed,
        other.registry._dispose,
        other.registry._seat_freed,
    )
    assert snapshot.peek(raw)["epoch"] == 7
    assert copy.code == room.code and copy.state == room.state == "playing"
    assert copy.game_id == room.game_id
    assert copy.arena.to_state() == room.arena.to_state()
    assert {s.id: (s.name, s.token) for s in copy.seats.values()} == {
        seat_a.id: ("Ada", seat_a.token),
        seat_b.id: ("Bob", seat_b.token),
    }
    assert all(s.peer is None for s in copy.seats.values())  # held until they come back
    texts = [line.text for line in other.registry.history.recent(copy.chat_key)]
    assert "hello" in texts
    # Both continue identically from here (the same seeded RNG, the same inputs).
    for r in (room, copy):
        r.arena.set_direction(seat_b.id, Direction.RIGHT)
        for _ in range(120):
            r.arena.step()
    assert copy.arena.to_state() == room.arena.to_state()


def _older(raw: bytes, room: Room, version: int) -> bytes:
    """`raw` (just dumped from `room`) as a process of an older release wrote it: version 1
    with pellets and the RNG's 625 words as JSON numbers, version 2 as hex and base64."""
    data = snapshot.peek(raw)
    arena = data["arena"]
    del arena["rng_words"]
    rng = full_rng_state(room.arena)
    if version == 2:
        arena["pellets"] = format(arena["pellets"], "x")
        rng[1] = base64.b64encode(struct.pack("<625I", *rng[1])).decode()
    arena["rng"] = rng
    data["v"] = version
    return json.dumps(data).encode()


def test_snapshots_of_older_releases_restore_the_same_game() -> None:
    world = World(countdown_s=0.0)
    room = world.registry.create(Mode.ARENA, private=False)
    room.join(RecordingPeer(), "Ada", spectate=False)
    room.join(RecordingPeer(), "Bob", spectate=False)
    world.run(1.0)
    start_fright(room.arena, room.arena.players_list[0])  # frightened ghosts draw
    world.run(1.0)
    assert room.arena.rng_words > 0
    raw = snapshot.dump(room, epoch=3)
    current = json.loads(raw)
    assert current["v"] == 3 and "rng" not in current["arena"]
    assert current["arena"]["rng_words"] == room.arena.rng_words
    assert isinstance(current["arena"]["pellets"], str)
    older = [_older(raw, room, 1), _older(raw, room, 2)]
    assert len(raw) < 0.6 * len(older[1]) < 0.6 * len(older[0])
    copies = [
        snapshot.restore(
            data, world.config, MemoryChatHistory(10), 0.0, lambda r: None, lambda r: None, str
        )
        for data in (raw, *older)
    ]
    for copy in copies:
        start_fright(copy.arena, copy.arena.players_list[0])
        for _ in range(300):
            copy.arena.step()
    states = [c.arena.to_state() for c in copies]
    assert states[0]["rng_words"] > current["arena"]["rng_words"]  # it drew on from there
    # an older snapshot's RNG is a full state from then on; the same state all the same
    assert full_rng_state(copies[0].arena) == states[1]["rng"] == states[2]["rng"]
    for state in states:
        state.pop("rng", None)
        state.pop("rng_words", None)
    assert states[0] == states[1] == states[2]


def test_a_snapshot_with_a_broken_rng_is_refused() -> None:
    world = World(countdown_s=0.0)
    room = world.registry.create(Mode.ARENA, private=False)
    room.join(RecordingPeer(), "Ada", spectate=False)
    raw = snapshot.dump(room, epoch=1)
    for words in (-1, 10**12, "12"):
        data = json.loads(raw)
        data["arena"]["rng_words"] = words
        with pytest.raises(ValueError, match="RNG"):
            snapshot.restore(
                json.dumps(data).encode(), world.config, MemoryChatHistory(10), 0.0,
                lambda r: None, lambda r: None, str,
            )  # fmt: skip
    data = json.loads(_older(raw, room, 2))
    data["arena"]["rng"][1] = data["arena"]["rng"][1][:-4]  # three bytes short of a word
    with pytest.raises(ValueError, match="RNG"):
        snapshot.peek(json.dumps(data).encode())


def test_relay_messages_round_trip() -> None:
    frame = RelayedFrame(1_795_000_000_123, 42, False, b"\x82\x03abc", b"\x82\x05keyfr")
    assert relay.decode(relay.encode_frame(frame)) == frame
    bare = RelayedFrame(5, 43, True, None, b"\x82\x01k")
    assert relay.decode(relay.encode_frame(bare)) == bare
    text = RelayedText(9, text='{"type":"roster"}', to="p1/c3", close=(1000, "bye"))
    assert relay.decode(relay.encode_text(text)) == text
    event = RelayedText(9, event="handover")
    assert relay.decode(relay.encode_text(event)) == event
    intent = relay.decode_intent(relay.encode_intent("input", "p2", "c1", d=3))
    assert intent == {"op": "input", "proc": "p2", "conn": "c1", "d": 3}


class Intents:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, op: str, conn: str, **args: Any) -> None:
        self.sent.append((op, conn, args))


class RawPeer(RecordingPeer):
    """Keeps the bytes of state frames as they came."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []

    def send_state(self, frame: bytes) -> bool:
        self.raw.append(frame)
        return True


def test_handle_fans_out_ignores_stale_owners_and_reattaches_to_a_new_one() -> None:
    intents = Intents()
    handle = RoomHandle("ABCDE", "p1", intents)
    peer = RawPeer()
    assert handle.join(peer, "Bob", spectate=False) is None
    assert intents.sent == [("join", "c1", {"name": "Bob", "spectate": False})]
    token_msg = '{"type":"joined","room":"ABCDE","you":1,"token":"tok"}'
    handle.on_text(RelayedText(10, text=token_msg, to="p1/c1"))
    handle.on_text(RelayedText(10, text='{"type":"chat","text":"x"}', to="p9/c1"))  # not ours
    assert [m["type"] for m in peer.texts] == ["joined"]
    keyframe = b"\x82\x00"  # a websocket frame with an empty payload is enough here
    sent = peer.raw
    handle.on_frame(RelayedFrame(10, 1, False, b"delta1", keyframe))
    handle.on_frame(RelayedFrame(10, 2, False, b"delta2", None))
    assert sent == [keyframe, b"delta2"]  # a joiner's first frame is the keyframe
    handle.on_frame(RelayedFrame(9, 3, False, b"stale", None))  # an older owner: ignored
    assert sent[-1] == b"delta2"
    handle.on_frame(RelayedFrame(10, 5, False, b"delta5", None))  # a gap: wait for a keyframe
    assert sent[-1] == b"delta2" and intents.sent[-1][0] == "keyframe"
    intents.sent.clear()
    handle.on_text(RelayedText(11, event="owner"))  # a new owner took over
    assert intents.sent == [("resume", "c1", {"token": "tok"})]
    handle.on_frame(RelayedFrame(11, 1, True, None, keyframe))
    assert sent[-1] == keyframe


def test_registry_lists_rooms_run_elsewhere() -> None:
    world = World()
    registry: Registry = world.registry
    assert isinstance(registry.history, MemoryChatHistory)
    world.registry.create(Mode.ARENA, private=False)
    registry.remote_summaries = [protocol.RoomSummary("ZZZZZ", Mode.CLASSIC, 1, 1, 0, "playing")]
    listed = protocol.decode(registry.room_list())["rooms"]
    assert [r["code"] for r in listed][-1] == "ZZZZZ" and len(listed) == 2


def test_an_unanswered_quick_join_stays_a_quick_join_when_the_room_moves() -> None:
    intents = Intents()
    bounced: list[tuple[str, str]] = []
    handle = RoomHandle("ABCDE", "p1", intents, lambda _, name, mode: bounced.append((name, mode)))
    lou, gus = RawPeer(), RawPeer()
    handle.quick_join(lou, "Lou")
    handle.quick_join(gus, "Gus")
    handle.on_text(RelayedText(10, text='{"type":"joined","you":2,"token":"t2"}', to="p1/c2"))
    intents.sent.clear()
    # The owner went quiet or changed: Lou's join is re-sent as quick play (if the room filled
    # meanwhile the owner sends Lou back to be seated elsewhere, not made a spectator).
    handle.reattach()
    assert intents.sent == [
        ("join", "c1", {"name": "Lou", "spectate": False, "quick": True}),
        ("resume", "c2", {"token": "t2"}),
    ]
    # The room moves here, and it is full: Gus resumes his seat, Lou is sent back to be
    # seated by this process elsewhere (never a spectator in the full room).
    world = World(countdown_s=0.0)
    room = world.registry.create(Mode.ARENA, private=False)
    for i in range(room.max_seats):
        room.join(RecordingPeer(), f"P{i}", spectate=False)
    room.seats[2].token = "t2"
    room.disconnect(room.seats[2].peer)  # Gus's seat, held for him
    handle.become_local(room, lambda room, seat: None)
    assert room.seats[2].peer is gus and not room.spectators
    assert bounced == [("Lou", "arena")] and lou not in handle.members


def test_an_unanswered_quick_join_takes_a_free_seat_when_the_room_moves_here() -> None:
    handle = RoomHandle("ABCDE", "p1", Intents(), lambda peer, name, mode: None)
    lou = RawPeer()
    handle.quick_join(lou, "Lou")
    room = World(countdown_s=0.0).registry.create(Mode.ARENA, private=False)
    handle.become_local(room, lambda room, seat: None)
    assert [s.name for s in room.seats.values()] == ["Lou"]
    assert not handle.members[lou].quick
