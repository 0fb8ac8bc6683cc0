"""The websocket connection class the server runs on: `websockets`' own, with one shortcut.

A player's intents are tiny binary messages, a few a second from every player. Through the
library's normal path each one is queued, wakes the session's reader task and is read back
with `recv()`: that round trip cost more than all the rest of handling it. Here a complete
binary message goes straight to the session's handler, inside `data_received`, whenever
nothing is waiting in the queue before it, so messages are still handled in the order they
came. Everything else (text, fragments, control frames, the handshake) takes the library's
path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

BinaryHandler = Callable[[bytes], None]


class GameConnection(ServerConnection):
    """A server connection that can hand complete binary messages to a handler at once."""

    binary_handler: BinaryHandler | None = None

    def process_event(self, event: Event) -> None:
        handler = self.binary_handler
        if (
            handler is not None
            and type(event) is Frame
            and event.opcode is Opcode.BINARY
            and event.fin
            and not self.recv_messages.frames.queue  # nothing older still to be read
        ):
            handler(bytes(event.data))
            return
        super().process_event(event)
