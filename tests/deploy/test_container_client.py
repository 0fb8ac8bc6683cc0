"""The deployed shape for real: the client published as to S3, the server in its container.

The publisher uploads web/ and config.json into (moto's) S3; a small site serves those objects
with the Content-Type and Cache-Control they were stored with, standing in for S3/CloudFront on
another origin. Headless Chromium loads the page from there, reads config.json, and opens the
websocket to the container, which admits the site's origin through ALLOWED_ORIGINS. Module
scripts only load with a JavaScript Content-Type, so this also proves the stored types work.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws
from playwright.sync_api import WebSocket, sync_playwright

from deploy import publish
from tests.deploy.conftest import REGION, REPO
from tests.deploy.test_container import free_port, image, running, wait_healthy

pytestmark = [pytest.mark.container, pytest.mark.browser, pytest.mark.timeout(900)]

__all__ = ["image"]  # the module-scoped image fixture, shared with test_container

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def bucket_objects(s3: Any, bucket: str) -> dict[str, tuple[bytes, str, str]]:
    """Every object in the bucket: its body and the Content-Type and Cache-Control stored with it.

    Read once, in the test's thread: moto is not safe to call from the site's threads.
    """
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            obj = s3.get_object(Bucket=bucket, Key=item["Key"])
            objects[item["Key"]] = (obj["Body"].read(), obj["ContentType"], obj["CacheControl"])
    return objects


def bucket_site(objects: dict[str, tuple[bytes, str, str]]) -> ThreadingHTTPServer:
    """An HTTP server answering GETs from the bucket's objects with their stored headers."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            key = self.path.split("?")[0].lstrip("/") or "index.html"
            if key not in objects:
                self.send_error(404)
                return
            body, content_type, cache_control = objects[key]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", cache_control)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def bucket(aws_env: None) -> Iterator[tuple[Any, str]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="client", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3, "client"


def test_browser_loads_the_published_client_and_reaches_the_container(
    image: dict[str, str], bucket: tuple[Any, str]
) -> None:
    s3, name = bucket
    game_port = free_port()
    ws_url = f"ws://127.0.0.1:{game_port}/ws"
    publish.publish(s3, name, REPO / "web", ws_url, progress=lambda _: None)
    site = bucket_site(bucket_objects(s3, name))
    site_origin = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        browser_plays_through(image, site_origin, game_port, ws_url)
    finally:
        site.shutdown()
        site.server_close()


def browser_plays_through(
    image: dict[str, str], site_origin: str, game_port: int, ws_url: str
) -> None:
    with running(image, game_port, ALLOWED_ORIGINS=site_origin, SERVE_STATIC="0") as name:
        wait_healthy(image, name)
        # With the client on S3 the server serves no pages.
        with pytest.raises(urllib.error.HTTPError) as no_page:
            urllib.request.urlopen(f"http://127.0.0.1:{game_port}/", timeout=5)
        assert no_page.value.code == 404

        sockets: list[WebSocket] = []
        received: list[str] = []
        errors: list[str] = []
        failed: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                # A module or config.json that fails to load shows here, not as a page error.
                page.on("requestfailed", lambda req: failed.append(f"{req.url} {req.failure}"))
                page.on(
                    "console",
                    lambda msg: errors.append(msg.text) if msg.type == "error" else None,
                )

                def opened(ws: WebSocket) -> None:
                    sockets.append(ws)
                    ws.on(
                        "framereceived",
                        lambda payload: (
                            received.append(payload) if isinstance(payload, str) else None
                        ),
                    )

                page.on("websocket", opened)
                page.goto(site_origin + "/")
                deadline = time.monotonic() + 20
                while not any('"welcome"' in text for text in received):
                    assert time.monotonic() < deadline, (sockets, received, errors, failed)
                    page.wait_for_timeout(100)
            finally:
                browser.close()
        assert [ws.url for ws in sockets][:1] == [ws_url]
        assert errors == []
        assert failed == []
