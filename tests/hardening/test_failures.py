"""Failures: SIGTERM drains and exits 0 in time; an exception inside a room closes that room
only, is logged with its context, and never takes the process down."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.app import App
from tests.hardening.support import ServerProcess, looks_like_a_trace
from tests.server.conftest import StartServer, start_server  # noqa: F401
from tests.server.wsclient import Client

DRAIN_TIMEOUT_S = 3.0


async def test_sigterm_stops_accepting_tells_everyone_and_exits_0_in_time() -> None:
    proc = ServerProcess({"DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S)}, name="sigterm").start()
    try:
        a, b, lobby = [await Client.open(proc.port) for _ in range(3)]
        await a.hello("Ada")
        await a.send({"type": "create", "mode": "arena"})
        joined = await a.expect("joined")
        code, token = joined["room"], joined["token"]
        await b.hello("Bob")
        await b.send({"type": "join", "room": code})
        await b.expect("joined")
        await lobby.hello("Lin")
        await a.send({"type": "chat", "channel": "room", "text": "secret-chat-Q7"})
        await b.expect("chat", lambda m: m["text"] == "secret-chat-Q7")
        await a.wait_for(lambda: a.frames)
        assert proc.proc is not None
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        for c in (a, b, lobby):
            assert (await c.expect("reconnect"))["reason"] == "draining"
        # No new players once draining: the listener is closed (or answers 503).
        with pytest.raises((OSError, InvalidStatus)):
            late = await connect(proc.ws_url, compression=None, open_timeout=2)
            await late.close()
        for c in (a, b, lobby):
            await asyncio.wait_for(c.closed.wait(), DRAIN_TIMEOUT_S + 1)
            assert c.ws.close_code == 1001
        code_ = await asyncio.to_thread(proc.proc.wait, DRAIN_TIMEOUT_S + 5)
        took = time.monotonic() - started
        print(f"\nSIGTERM with 3 clients: exit {code_} after {took:.2f} s")
        assert code_ == 0
        assert took < DRAIN_TIMEOUT_S + 1.5
        log = proc.log()
        assert '"draining"' in log and '"stopped"' in log
        # JSON lines with levels and ids; what people wrote and their tokens stay out.
        records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert all("msg" in r for r in records)
        assert {"info"} <= {r.get("level") for r in records}
        assert any(r.get("room") == code and r.get("player") is not None for r in records)
        assert "secret-chat-Q7" not in log and token not in log
    finally:
        proc.stop()


async def test_a_failing_room_is_closed_alone_and_logged_with_context(
    start_server: StartServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: App = await start_server()
    doomed, other = await Client.open(app.port), await Client.open(app.port)
    await doomed.hello("Ada")
    await doomed.send({"type": "create", "mode": "classic"})
    doomed_code = (await doomed.expect("joined"))["room"]
    await other.hello("Bob")
    await other.send({"type": "create", "mode": "classic"})
    other_code = (await other.expect("joined"))["room"]
    await doomed.wait_for(lambda: doomed.frames and doomed.frames[-1].phase == 1, 10)

    def explode() -> None:
        raise RuntimeError("injected fault in the game core")

    caplog.set_level(logging.INFO)
    room = app.registry.rooms[doomed_code]
    room.arena.step = explode  # type: ignore[method-assign]
    err = await doomed.expect("error")
    assert err["code"] == "internal" and not looks_like_a_trace(err["message"])
    await asyncio.wait_for(doomed.closed.wait(), 5)
    assert doomed.ws.close_code == 1011
    # The other room plays on; the process serves new players.
    frame = other.frames[-1].frame
    await other.wait_for(lambda: other.frames[-1].frame > frame + 20)
    assert doomed_code not in app.registry.rooms and other_code in app.registry.rooms
    newcomer = await Client.open(app.port)
    await newcomer.hello("Cy")
    await newcomer.send({"type": "create", "mode": "arena"})
    await newcomer.expect("joined")
    # One error record with the room, the tick and the traceback, for the operator only.
    failed = [r for r in caplog.records if r.getMessage() == "room failed"]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert getattr(failed[0], "room", None) == doomed_code
    assert isinstance(getattr(failed[0], "tick", None), int)
    assert failed[0].exc_info and "injected fault" in str(failed[0].exc_info[1])
    for c in (other, newcomer):
        await c.close()
