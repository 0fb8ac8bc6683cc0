"""Fan-out: one built frame shared by every connection; a peer that skipped gets a keyframe."""

from __future__ import annotations

from server import protocol
from server.fanout import fan_out
from server.game.view import Event, EventKind
from server.narrate import narrate
from tests.server.test_protocol import make_view


class Peer:
    def __init__(self, owes: bool = False, full: bool = False) -> None:
        self.owes_keyframe = owes
        self.full = full
        self.got: list[bytes] = []

    def send_state(self, frame: bytes) -> bool:
        if self.full:
            return False
        self.got.append(frame)
        return True


def frames() -> tuple[protocol.EncodedFrame, protocol.EncodedFrame]:
    enc = protocol.StateEncoder(244)
    first = enc.next(make_view(1), [])
    return first, enc.next(make_view(2), [])


def test_the_same_bytes_object_goes_to_every_peer() -> None:
    _, frame = frames()
    peers = [Peer() for _ in range(8)]
    fan_out(frame, peers, everyone_keyframe=False)
    assert all(p.got[0] is peers[0].got[0] for p in peers)  # built once, shared
    assert protocol.decode_state(peers[0].got[0][2:]).kind == protocol.DELTA


def test_owed_and_skipping_peers() -> None:
    _, frame = frames()
    fine, owed, stuck = Peer(), Peer(owes=True), Peer(full=True)
    fan_out(frame, [fine, owed, stuck], everyone_keyframe=False)
    assert protocol.decode_state(fine.got[0][2:]).kind == protocol.DELTA
    assert protocol.decode_state(owed.got[0][4:]).kind == protocol.KEYFRAME  # 126+ bytes
    assert not owed.owes_keyframe
    assert stuck.got == [] and stuck.owes_keyframe
    stuck.full = False
    fan_out(frame, [stuck], everyone_keyframe=False)
    assert protocol.decode_state(stuck.got[0][4:]).kind == protocol.KEYFRAME


def test_first_frame_is_a_keyframe_for_everyone() -> None:
    first, _ = frames()
    peers = [Peer(), Peer()]
    fan_out(first, peers, everyone_keyframe=False)  # no delta possible yet
    assert all(protocol.decode_state(p.got[0][4:]).kind == protocol.KEYFRAME for p in peers)


def test_narration() -> None:
    names = {0: "Ada", 1: "Bob"}

    def name(pid: int | None) -> str:
        return names.get(pid, "?") if pid is not None else "?"

    assert narrate(Event(EventKind.PLAYER_CAUGHT, 1, 0, 3), name) == "Ada was caught by Clyde"
    assert narrate(Event(EventKind.RIVAL_EATEN, 1, 1, 0), name) == "Bob ate Ada"
    assert narrate(Event(EventKind.PLAYER_OUT, 1, 1), name) == "Bob is out"
    assert narrate(Event(EventKind.DOT_EATEN, 1, 1), name) is None
