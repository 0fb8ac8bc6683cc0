"""Names of the shared keys and channels, in one place so every process agrees on them."""

from __future__ import annotations

PROCESSES = "procs"  # presence group: live server processes


def room_owner(room: str) -> str:
    """Lease key: the process that runs the room's tick."""
    return f"room:{room}:owner"


def room_snapshot(room: str) -> str:
    """The owner's latest snapshot of the room (bytes, with a TTL)."""
    return f"room:{room}:snapshot"


def room_frames(room: str) -> str:
    """Channel: state frames the owner publishes once per send tick."""
    return f"room:{room}:frames"


def room_intents(room: str) -> str:
    """Channel: intents from players on other processes, for the owner."""
    return f"room:{room}:intents"


def room_chat(room: str) -> str:
    """Capped list: the room's chat history, newest first."""
    return f"room:{room}:chat"


def resume_token(token: str) -> str:
    """A seat's resume token (bytes, with a TTL of the reconnect grace)."""
    return f"resume:{token}"


LOBBY_ROOMS = "lobby:rooms"  # presence group: open rooms and their summaries
LOBBY_CHANNEL = "lobby"  # channel: room list changes
