"""Chat policy: cleaning lines, per-sender rate limits and channel history. Pure, no I/O.

Everything that depends on time takes `now` (seconds, any monotonic origin) so the policy is
tested synchronously. `ChatHistory` is the seam for a shared backend: the in-memory version
here keeps the last N lines per channel.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

_STRIP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Line and paragraph separators would break a chat line the way a newline does.
_SPACES = frozenset("\t\n\r\u2028\u2029")
# Marks stacked on one letter beyond this only smear over the neighbouring lines ("zalgo");
# real scripts need far fewer after NFC.
MAX_MARKS = 3
_MARKS = frozenset({"Mn", "Me"})


class ChatError(ValueError):
    """A chat line that cannot be posted; `code` is the wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_text(raw: str, max_chars: int) -> str:
    """Strip control/format characters and outer space; reject empty or too long lines."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(" " if ch in _SPACES else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _STRIP).strip()
    text = _limit_marks(text)
    if not text:
        raise ChatError("chat_invalid", "the chat line is empty")
    if len(text) > max_chars:
        raise ChatError("chat_invalid", f"a chat line is at most {max_chars} characters")
    return text


def _limit_marks(text: str) -> str:
    out: list[str] = []
    run = 0
    for ch in text:
        if unicodedata.category(ch) in _MARKS:
            run += 1
            if run > MAX_MARKS:
                continue
        else:
            run = 0
        out.append(ch)
    return "".join(out)


class TokenBucket:
    """A token bucket: `rate` tokens per second, holding at most `burst`."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; return whether it was allowed."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass(frozen=True, slots=True)
class ChatLine:
    channel: str
    sender: str | None  # None for system lines
    text: str
    ts: int  # ms since the epoch
    system: bool

    def to_wire(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "from": self.sender,
            "text": self.text,
            "ts": self.ts,
            "system": self.system,
        }


class ChatLimiter:
    """One sender's chat allowance: `lines_per_10s` lines, refilled smoothly."""

    def __init__(self, lines_per_10s: int, now: float) -> None:
        self._bucket = TokenBucket(lines_per_10s / 10.0, lines_per_10s, now)

    def check(self, now: float) -> None:
        if not self._bucket.take(now):
            raise ChatError("chat_rate_limited", "slow down: too many chat lines")


def make_line(
    channel: str,
    sender: str,
    raw: str,
    max_chars: int,
    ts_ms: int,
    limiter: ChatLimiter,
    now: float,
) -> ChatLine:
    """Validate and rate-limit one player line; raises `ChatError`."""
    text = clean_text(raw, max_chars)
    limiter.check(now)
    return ChatLine(channel, sender, text, ts_ms, False)


def system_line(channel: str, text: str, ts_ms: int) -> ChatLine:
    return ChatLine(channel, None, text, ts_ms, True)


class ChatHistory(Protocol):
    """Where a channel's recent lines live (in memory now; a shared backend later)."""

    def append(self, key: str, line: ChatLine) -> None: ...

    def recent(self, key: str) -> list[ChatLine]: ...

    def drop(self, key: str) -> None: ...


class MemoryChatHistory:
    """The last `size` lines per channel key, oldest first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lines: dict[str, deque[ChatLine]] = {}

    def append(self, key: str, line: ChatLine) -> None:
        if self._size <= 0:
            return
        self._lines.setdefault(key, deque(maxlen=self._size)).append(line)

    def recent(self, key: str) -> list[ChatLine]:
        return list(self._lines.get(key, ()))

    def drop(self, key: str) -> None:
        self._lines.pop(key, None)
