"""HTTP on the game port: /healthz, the static client, and the websocket's origin check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.server.conftest import StartServer


async def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    parsed = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), parsed, body


@pytest.fixture
def web(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Pac-Arena</title>")
    (tmp_path / "main.js").write_text("export const x = 1;\n")
    (tmp_path / "style.css").write_text("body{}\n")
    (tmp_path / ".secret").write_text("no")
    (tmp_path.parent / "outside.txt").write_text("no")
    return tmp_path


async def test_healthz_ready_then_draining(start_server: StartServer) -> None:
    app = await start_server()
    status, _, body = await http_get(app.port, "/healthz")
    assert (status, body) == (200, b"ok\n")
    app.registry.draining = True  # what drain() sets first
    status, _, body = await http_get(app.port, "/healthz")
    assert (status, body) == (503, b"draining\n")


async def test_static_files_with_content_types(start_server: StartServer, web: Path) -> None:
    app = await start_server(static_dir=str(web))
    status, headers, body = await http_get(app.port, "/")
    assert status == 200 and b"Pac-Arena" in body
    assert headers["content-type"] == "text/html; charset=utf-8"
    status, headers, body = await http_get(app.port, "/?room=ABCDE")
    assert status == 200 and b"Pac-Arena" in body
    status, headers, _ = await http_get(app.port, "/main.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    status, headers, _ = await http_get(app.port, "/style.css")
    assert status == 200 and headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path",
    [
        "/nope.js",
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/.secret",
        "/main.js/..",
        "/a\\b",
        "/%00",
    ],
)
async def test_no_traversal_or_hidden_files(
    start_server: StartServer, web: Path, path: str
) -> None:
    app = await start_server(static_dir=str(web))
    status, _, body = await http_get(app.port, path)
    assert status == 404
    assert body != b"no"


async def test_static_serving_can_be_turned_off(start_server: StartServer, web: Path) -> None:
    app = await start_server(static_dir=str(web), serve_static=False)
    assert (await http_get(app.port, "/"))[0] == 404
    assert (await http_get(app.port, "/healthz"))[0] == 200


async def test_the_real_client_folder_is_served(start_server: StartServer) -> None:
    app = await start_server()
    status, headers, _ = await http_get(app.port, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")


async def test_origin_check(start_server: StartServer) -> None:
    app = await start_server(allowed_origins=("https://pac.example",))
    url = f"ws://127.0.0.1:{app.port}/ws"
    with pytest.raises(InvalidStatus) as caught:
        await connect(url, origin="https://evil.example")  # type: ignore[arg-type]
    assert caught.value.response.status_code == 403
    for origin in (f"http://127.0.0.1:{app.port}", "https://pac.example", None):
        ws = await connect(url, origin=origin)  # type: ignore[arg-type]
        await ws.close()


async def test_websocket_only_at_ws(start_server: StartServer) -> None:
    app = await start_server(serve_static=False)
    with pytest.raises(InvalidStatus) as caught:
        await connect(f"ws://127.0.0.1:{app.port}/other")
    assert caught.value.response.status_code == 404


async def test_only_get_and_head_are_served(start_server: StartServer, web: Path) -> None:
    app = await start_server(static_dir=str(web))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = await http_get(app.port, "/", method=method)
        assert (status, headers["allow"]) == (405, "GET, HEAD"), method
    assert (await http_get(app.port, "/healthz", method="POST"))[0] == 405


async def test_head_answers_as_get_without_the_body(start_server: StartServer, web: Path) -> None:
    app = await start_server(static_dir=str(web))
    for path in ("/", "/main.js", "/healthz", "/api/leaderboard", "/missing"):
        got_status, got_headers, body = await http_get(app.port, path)
        status, headers, empty = await http_get(app.port, path, method="HEAD")
        assert (status, empty) == (got_status, b""), path
        assert headers["content-type"] == got_headers["content-type"], path
        assert headers["content-length"] == got_headers["content-length"] == str(len(body))
    # The websocket endpoint is not a document: HEAD there is refused, not a handshake.
    status, headers, _ = await http_get(app.port, "/ws", method="HEAD")
    assert (status, headers["allow"]) == (405, "GET, HEAD")
