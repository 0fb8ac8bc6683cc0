"""Prometheus metrics: off by default, on their own port when asked, with live values."""

from __future__ import annotations

from tests.server.conftest import StartServer
from tests.server.test_http import http_get
from tests.server.test_main import free_port
from tests.server.wsclient import Client


def value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


async def test_metrics_are_not_on_the_game_port(start_server: StartServer) -> None:
    app = await start_server()
    assert (await http_get(app.port, "/metrics"))[0] == 404
    assert app.metrics_port == 0


async def test_metrics_port_reports_rooms_players_and_frames(start_server: StartServer) -> None:
    app = await start_server(metrics_port=free_port())
    c = await Client.open(app.port)
    await c.hello()
    await c.send({"type": "create", "mode": "arena"})
    await c.expect("joined")
    await c.wait_for(lambda: len(c.frames) >= 3)
    await c.send({"type": "jump"})
    await c.expect("error")
    status, headers, body = await http_get(app.metrics_port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert value(text, "pacarena_connections") == 1
    assert value(text, "pacarena_rooms") == 1
    assert value(text, "pacarena_players") == 1
    assert value(text, "pacarena_state_frames_sent_total") >= 3
    assert 'pacarena_errors_sent_total{code="unknown_type"}' in text
    assert (await http_get(app.metrics_port, "/other"))[0] == 404
    await c.close()
