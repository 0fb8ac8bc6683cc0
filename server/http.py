"""Plain HTTP on the websocket port: /healthz and the static web client; nothing else."""

from __future__ import annotations

import mimetypes
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response

# Explicit types for what the client ships; the platform's mimetypes table varies between
# machines and lacks some of these (.webmanifest, .woff2, .mjs).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
}

_REASONS = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def response(status: int, body: bytes, content_type: str, cache: str = "no-cache") -> Response:
    headers = Headers(
        [
            ("Date", formatdate(usegmt=True)),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", cache),
            ("X-Content-Type-Options", "nosniff"),
            ("Connection", "close"),
        ]
    )
    return Response(status, _REASONS.get(status, "Error"), headers, body)


def text(status: int, body: str) -> Response:
    return response(status, body.encode(), "text/plain; charset=utf-8", "no-store")


def not_allowed() -> Response:
    """405, naming the methods served (RFC 9110 asks for the Allow header)."""
    refused = text(405, "only GET and HEAD are served here\n")
    refused.headers["Allow"] = "GET, HEAD"
    return refused


def head_of(answer: Response) -> Response:
    """The answer to HEAD: GET's status and headers (its Content-Length too), no body."""
    return Response(answer.status_code, answer.reason_phrase, answer.headers, b"")


def split_path(target: str) -> str:
    """The decoded path part of a request target (no query string)."""
    return unquote(urlsplit(target).path) or "/"


class StaticFiles:
    """Serves files under `root`; `/` is index.html; no listings, no escaping the root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def resolve(self, path: str) -> Path | None:
        if "\x00" in path or "\\" in path:
            return None
        rel = path.lstrip("/") or "index.html"
        if rel.endswith("/"):
            rel += "index.html"
        parts = rel.split("/")
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            return None
        candidate = (self.root / rel).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def get(self, path: str) -> Response:
        found = self.resolve(path)
        if found is None:
            return text(404, "not found\n")
        kind = CONTENT_TYPES.get(found.suffix.lower()) or (
            mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        )
        return response(200, found.read_bytes(), kind)
