"""A session's view of a room in cluster mode, wherever the room runs.

While this process owns the room every call goes straight to the local `Room` (its players
get frames directly). Otherwise calls become intents for the owner, and the room channel's
frames and texts are fanned out here to this process's members. The handle remembers its
members (and their seat tokens) so they can be re-attached when ownership moves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server import protocol
from server.game.view import Direction
from server.relay import RelayedFrame, RelayedText
from server.room import Peer, Room, Seat

log = logging.getLogger("server.handle")

KEYFRAME_ASK_S = 0.1  # at most this often a process asks the owner for a keyframe

Intent = Callable[..., None]  # (op, conn, **args): queue an intent for the owner
# (peer, name, mode): quick play sent a player here, but the room filled up before the owner
# heard of them; their process finds them a seat elsewhere.
Bounced = Callable[[Peer, str, str], None]


@dataclass
class Member:
    """One of this process's connections in the room."""

    conn: str
    name: str
    spectate: bool
    token: str | None = None
    # A quick-play join the owner has not answered yet: if the room is full by the time the
    # join is heard (again), the player is seated elsewhere, never made a spectator.
    quick: bool = False


class RoomHandle:
    """What a session holds in cluster mode (`RoomLike`)."""

    def __init__(
        self, code: str, proc: str, intent: Intent, bounced: Bounced | None = None
    ) -> None:
        self.code = code
        self.proc = proc
        self.bounced = bounced
        self.local: Room | None = None
        self.members: dict[Peer, Member] = {}
        self.by_conn: dict[str, Peer] = {}
        self._intent = intent
        self._next_conn = 0
        self._gone = False
        # Relay state (remote mode)
        self.epoch = 0
        self.last_seq: int | None = None
        self.last_heard = time.monotonic()
        self.handover = False
        self.frames_in = 0
        self._asked_keyframe = float("-inf")

    # --- RoomLike --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        if self.local is not None:
            return self.local.closed
        return self._gone

    def _member(self, peer: Peer, name: str, spectate: bool, token: str | None) -> Member:
        member = self.members.get(peer)
        if member is None:
            self._next_conn += 1
            member = Member(f"c{self._next_conn}", name, spectate, token)
            self.members[peer] = member
            self.by_conn[member.conn] = peer
        else:
            member.name, member.spectate, member.token = name, spectate, token
        return member

    def _forget(self, peer: Peer) -> Member | None:
        member = self.members.pop(peer, None)
        if member is not None:
            self.by_conn.pop(member.conn, None)
        return member

    def join(self, peer: Peer, name: str, spectate: bool) -> Seat | None:
        if self.local is not None:
            seat = self.local.join(peer, name, spectate)
            self._member(peer, name, seat is None, seat.token if seat else None)
            return seat
        member = self._member(peer, name, spectate, None)
        self._intent("join", member.conn, name=name, spectate=spectate)
        return None

    def quick_join(self, peer: Peer, name: str) -> Seat | None:
        if self.local is not None:
            return self.join(peer, name, spectate=False)
        member = self._member(peer, name, False, None)
        member.quick = True
        # The owner seats them if a seat is still free, else sends them back ("full").
        self._intent("join", member.conn, name=name, spectate=False, quick=True)
        return None

    def resume(self, seat: Seat, peer: Peer) -> None:
        if self.local is not None:
            self._member(peer, seat.name, False, seat.token)
            self.local.resume(seat, peer)
            return
        # A seat found by token alone has no name here; it is used only to join again if the
        # seat is gone by the time the owner hears of it.
        member = self._member(peer, seat.name or "player", False, seat.token)
        peer.owes_keyframe = True
        self._intent("resume", member.conn, token=seat.token)

    def leave(self, peer: Peer) -> None:
        member = self._forget(peer)
        if self.local is not None:
            self.local.leave(peer)
        elif member is not None:
            self._intent("leave", member.conn)

    def disconnect(self, peer: Peer) -> None:
        member = self._forget(peer)
        if self.local is not None:
            self.local.disconnect(peer)
        elif member is not None:
            self._intent("disconnect", member.conn)

    def start(self, peer: Peer) -> None:
        if self.local is not None:
            return self.local.start(peer)
        self._remote("start", peer)

    def input(self, peer: Peer, direction: Direction, arrived: float) -> None:
        if self.local is not None:
            return self.local.input(peer, direction, arrived)
        self._remote("input", peer, d=int(direction))

    def chat(self, peer: Peer, raw: str, now_monotonic: float) -> None:
        if self.local is not None:
            return self.local.chat(peer, raw, now_monotonic)
        self._remote("chat", peer, text=raw)

    def request_keyframe(self, peer: Peer) -> None:
        if self.local is not None:
            return self.local.request_keyframe(peer)
        peer.owes_keyframe = True
        self._ask_keyframe(force=True)

    def _remote(self, op: str, peer: Peer, **args: Any) -> None:
        member = self.members.get(peer)
        if member is None:
            raise protocol.ProtocolError("not_in_room", "join a room first", op)
        self._intent(op, member.conn, **args)

    # --- ownership moves -------------------------------------------------------------------------

    def become_local(self, room: Room, register: Callable[[Room, Seat], None]) -> None:
        """This process now runs the room: attach members straight to it."""
        self.local = room
        for peer, member in list(self.members.items()):
            seat = _seat_by_token(room, member.token)
            if seat is not None:
                room.resume(seat, peer)
                continue
            if member.token is not None:  # the seat was freed meanwhile: join again
                member.token = None
            if member.quick and not room.has_free_seat() and self.bounced is not None:
                self._forget(peer)
                self.bounced(peer, member.name, protocol.MODE_NAMES[room.mode])
                continue
            member.quick = False
            new = room.join(peer, member.name, member.spectate)
            if new is not None:
                member.token = new.token
                register(room, new)

    def become_remote(self) -> None:
        """Another process runs the room now: re-attach members through it."""
        self.local = None
        self.epoch = 0
        self.last_seq = None
        self.last_heard = time.monotonic()
        self.reattach()

    def reattach(self) -> None:
        """Tell the (new) owner about every member again."""
        for peer, member in self.members.items():
            peer.owes_keyframe = True
            if member.token is not None:
                self._intent("resume", member.conn, token=member.token)
            elif member.quick:
                self._intent("join", member.conn, name=member.name, spectate=False, quick=True)
            else:
                self._intent("join", member.conn, name=member.name, spectate=member.spectate)

    def gone(self, message: str) -> None:
        """The room no longer exists anywhere: tell the members."""
        self._gone = True
        for peer in list(self.members):
            peer.send_text(protocol.error("room_not_found", message))
            peer.send_text(protocol.left())
        self.members.clear()
        self.by_conn.clear()

    # --- the room channel (remote mode) ----------------------------------------------------------

    def _accept(self, epoch: int, now: float) -> bool:
        """Whether a message from the owner under `epoch` counts (re-attaching on a new owner)."""
        if self.local is not None:
            return False
        # After a long silence any owner is believed (the bus may have been restarted and its
        # epochs started again); otherwise only the newest owner counts.
        if epoch < self.epoch and now - self.last_heard < 2.0:
            return False
        if epoch != self.epoch:
            moved = self.epoch != 0
            self.epoch = epoch
            self.last_seq = None
            if moved:
                self.reattach()
        self.last_heard = now
        return True

    def on_frame(self, frame: RelayedFrame) -> None:
        now = time.monotonic()
        if not self._accept(frame.epoch, now):
            return
        gap = self.last_seq is not None and frame.seq != (self.last_seq + 1) & 0xFFFFFFFF
        self.last_seq = frame.seq
        self.handover = False
        self.frames_in += 1
        need = False
        for peer in self.members:
            if gap:
                peer.owes_keyframe = True
            if frame.everyone_keyframe or peer.owes_keyframe or frame.delta is None:
                if frame.keyframe is None:
                    peer.owes_keyframe = need = True
                    continue
                data = frame.keyframe
            else:
                data = frame.delta
            peer.owes_keyframe = not peer.send_state(data)
        if need:
            self._ask_keyframe()

    def on_text(self, text: RelayedText) -> None:
        now = time.monotonic()
        if text.event == "handover":
            if self.local is None and text.epoch >= self.epoch:
                self.handover = True
            return
        if not self._accept(text.epoch, now) or text.event == "owner":
            return
        if text.event == "closed":
            self.gone("the room closed")
            return
        if text.event == "full":
            self._bounce(text)
            return
        if not text.to:
            for peer in self.members:
                peer.send_text(text.text)
            return
        proc, _, conn = text.to.partition("/")
        target = self.by_conn.get(conn) if proc == self.proc else None
        if target is None:
            return
        self._deliver(target, text)

    def _bounce(self, text: RelayedText) -> None:
        proc, _, conn = text.to.partition("/")
        peer = self.by_conn.get(conn) if proc == self.proc else None
        member = self._forget(peer) if peer is not None else None
        if peer is not None and member is not None and self.bounced is not None:
            self.bounced(peer, member.name, text.text)

    def _deliver(self, peer: Peer, text: RelayedText) -> None:
        if text.close is not None:
            self._forget(peer)
            peer.close(*text.close)
            return
        if text.text.startswith('{"type":"joined"'):
            joined = protocol.decode(text.text)
            member = self.members[peer]
            member.token = joined.get("token")
            member.spectate = joined.get("you") is None
            member.quick = False
            peer.owes_keyframe = True
        peer.send_text(text.text)

    def _ask_keyframe(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._asked_keyframe >= KEYFRAME_ASK_S:
            self._asked_keyframe = now
            self._intent("keyframe", "")


def _seat_by_token(room: Room, token: str | None) -> Seat | None:
    if token is None:
        return None
    return next((s for s in room.seats.values() if s.token == token), None)
