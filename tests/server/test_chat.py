"""Chat policy: cleaning, rate limits and history, all synchronous with explicit `now`."""

from __future__ import annotations

import pytest

from server.chat import (
    ChatError,
    ChatLimiter,
    MemoryChatHistory,
    TokenBucket,
    clean_text,
    make_line,
)


def test_control_characters_are_stripped() -> None:
    assert clean_text("  hi\x00 there\u202e\u200b\x1b[31m ", 200) == "hi there[31m"
    assert clean_text("a\nb\tc", 200) == "a b c"


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "\u200b"])
def test_empty_lines_are_refused(raw: str) -> None:
    with pytest.raises(ChatError) as caught:
        clean_text(raw, 200)
    assert caught.value.code == "chat_invalid"


def test_length_limit() -> None:
    assert clean_text("x" * 200, 200) == "x" * 200
    with pytest.raises(ChatError):
        clean_text("x" * 201, 200)


def test_rate_limit_refills_over_time() -> None:
    limiter = ChatLimiter(5, now=0.0)
    for _ in range(5):
        limiter.check(0.0)
    with pytest.raises(ChatError) as caught:
        limiter.check(0.1)
    assert caught.value.code == "chat_rate_limited"
    limiter.check(2.1)  # 5 per 10 s: one line back every 2 s
    with pytest.raises(ChatError):
        limiter.check(2.2)


def test_token_bucket_never_exceeds_burst() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_rate_limited_line_is_not_posted_but_invalid_line_costs_nothing() -> None:
    limiter = ChatLimiter(1, now=0.0)
    with pytest.raises(ChatError):
        make_line("room", "Ada", "  ", 200, 0, limiter, 0.0)
    line = make_line("room", "Ada", "hello", 200, 123, limiter, 0.0)
    assert line.to_wire() == {
        "channel": "room",
        "from": "Ada",
        "text": "hello",
        "ts": 123,
        "system": False,
    }


def test_history_keeps_the_last_lines_in_order() -> None:
    history = MemoryChatHistory(50)
    limiter = ChatLimiter(1000, 0.0)
    for i in range(60):
        history.append("room:A", make_line("room", "Ada", f"line {i}", 200, i, limiter, 0.0))
    lines = history.recent("room:A")
    assert len(lines) == 50
    assert lines[0].text == "line 10" and lines[-1].text == "line 59"
    assert history.recent("room:B") == []
    history.drop("room:A")
    assert history.recent("room:A") == []
