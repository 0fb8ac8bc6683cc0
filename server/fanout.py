"""Writing one room's state frame to all its connections: shared bytes, latest snapshot wins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from server import protocol
from server.metrics import STATS


class StatePeer(Protocol):
    """The part of a connection the fan-out uses."""

    owes_keyframe: bool

    def send_state(self, frame: bytes) -> bool: ...


def fan_out(
    frame: protocol.EncodedFrame, peers: Iterable[StatePeer], everyone_keyframe: bool
) -> None:
    """Send the delta to peers in step and the keyframe to the rest (or to all if asked).

    Each websocket frame is built at most once and the same bytes go to every peer. A peer
    that skips a frame (its buffer is full) is owed a keyframe: deltas only chain from the
    frame before, so the next thing it gets must stand alone.
    """
    delta = None
    if not everyone_keyframe and frame.delta is not None:
        delta = protocol.ws_binary_frame(frame.delta)
    key: bytes | None = None
    sent = skipped = sent_bytes = 0
    for peer in peers:
        if delta is None or peer.owes_keyframe:
            if key is None:
                key = protocol.ws_binary_frame(frame.keyframe())
            data = key
        else:
            data = delta
        ok = peer.send_state(data)
        peer.owes_keyframe = not ok
        if ok:
            sent += 1
            sent_bytes += len(data)
        else:
            skipped += 1
    STATS.state_frames_sent += sent
    STATS.state_frames_skipped += skipped
    STATS.state_bytes_sent += sent_bytes
