"""The websocket connection class the server runs on: `websockets`' own, with shortcuts.

A player's intents are tiny binary messages, a few a second from every player. Through the
library's normal path each one is parsed by a chain of generators, queued, wakes the
session's reader task and is read back with `recv()`: that round trip cost more than all
the rest of handling it. Here, intents skip it in two steps:

- `data_received` reads small, complete, masked binary frames itself, but only when the
  library's parser stands exactly between two frames with nothing buffered (so nothing it
  holds is cut in half) and nothing is queued for the reader (so order is kept). It stops
  at the first byte it does not fully understand and hands the rest to the library.
- A complete binary message the library parsed goes to the handler from `process_event`
  under the same queue rule.

Everything else (text, fragments, control frames, the handshake, closing, protocol
errors) takes the library's path unchanged. If a future `websockets` parses differently,
the boundary check simply fails and every byte takes the library's path.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State
from websockets.streams import StreamReader

try:  # the same C helper the library unmasks with
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

BinaryHandler = Callable[[bytes], None]

_FIN_BINARY = 0x80 | Opcode.BINARY.value  # FIN set, no RSV bits, opcode 2
_MASKED = 0x80
_SMALL = 125  # the largest payload whose length fits in the second header byte
_AT_EOF = StreamReader.at_eof.__code__  # where the parser waits between two frames


def _waiting_between_frames(parser: Generator[Any, Any, Any]) -> bool:
    """Whether the library's parser is suspended at the top of its frame loop."""
    innermost: Any = parser
    while (inner := innermost.gi_yieldfrom) is not None:
        innermost = inner
    return innermost.gi_code is _AT_EOF


class GameConnection(ServerConnection):
    """A server connection that can hand complete binary messages to a handler at once."""

    binary_handler: BinaryHandler | None = None
    # Whether frames may still be written: false from the moment the protocol leaves OPEN (a
    # close frame sent or received, the stream ended). Every such change makes bytes that the
    # library writes out with `send_data()`, so the flag is kept there; a room writing a state
    # frame then reads a plain attribute instead of calling the protocol's `state` property.
    open_for_frames = False

    def send_data(self) -> None:
        super().send_data()
        self.open_for_frames = self.protocol.state is State.OPEN

    def data_received(self, data: bytes) -> None:
        if (
            self.binary_handler is not None
            and len(data) > 5
            and data[0] == _FIN_BINARY
            and self._at_boundary()
        ):
            taken = self._take_small_binary_frames(data)
            if taken == len(data):
                return
            data = data[taken:]
        super().data_received(data)

    def _at_boundary(self) -> bool:
        protocol = self.protocol
        return (
            self.open_for_frames
            and not protocol.reader.buffer
            and protocol.current_size is None  # not inside a fragmented message
            and not self.recv_messages.frames.queue  # nothing older still to be read
            and _waiting_between_frames(protocol.parser)
        )

    def _take_small_binary_frames(self, data: bytes) -> int:
        """Hand each leading complete small binary frame to the handler; return bytes used."""
        protocol = self.protocol
        largest = min(
            _SMALL,
            protocol.max_message_size or _SMALL,
            protocol.max_fragment_size or _SMALL,
        )
        position, end = 0, len(data)
        while position + 6 <= end and data[position] == _FIN_BINARY:
            second = data[position + 1]
            length = second & 0x7F
            if not second & _MASKED or length > largest:
                break  # unmasked (an error), long or too big: the library decides
            payload_end = position + 6 + length
            if payload_end > end:
                break
            handler = self.binary_handler
            if handler is None or not self.open_for_frames:
                break  # the previous message ended the session or the connection
            mask = data[position + 2 : position + 6]
            handler(apply_mask(data[position + 6 : payload_end], mask))
            position = payload_end
        return position

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
