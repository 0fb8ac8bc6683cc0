"""Fixtures for the deploy tests: an AWS environment that can only reach moto, sample files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and a region, and no way to pick up a real profile or instance role."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    yield


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """A small client folder with one file of each kind the publisher must type correctly."""
    web = tmp_path / "web"
    (web / "fonts").mkdir(parents=True)
    (web / "__pycache__").mkdir()
    files = {
        "index.html": "<!doctype html><script type=module src=main.js></script>",
        "main.js": "import './net.js';",
        "net.js": "export const x = 1;",
        "util.mjs": "export default 1;",
        "style.css": "body{}",
        "app.webmanifest": '{"name": "Pac-Arena"}',
        "fonts/arcade.woff2": "wOF2",
        "icon.svg": "<svg/>",
        "config.json": '{"wsUrl": "ws://stale.example/ws"}',
        ".DS_Store": "junk",
        "__pycache__/x.pyc": "junk",
    }
    for name, text in files.items():
        (web / name).write_text(text)
    (web / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return web
