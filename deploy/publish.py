"""Upload the web client to S3 with the right Content-Type and Cache-Control for each file."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.aws import SetupError
from server.http import CONTENT_TYPES  # one table: the same types locally and on S3

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CONFIG_NAME = "config.json"


# The entry page and the config file must be fetched fresh (revalidated) on every load, so a
# new deploy shows at once; the rest may be cached.
NO_CACHE_NAMES = frozenset({"index.html", CONFIG_NAME})
NO_CACHE = "no-cache"
DEFAULT_MAX_AGE = 86_400


@dataclass(frozen=True)
class Upload:
    """One object written to the bucket."""

    key: str
    content_type: str
    cache_control: str
    size: int


def content_type(name: str) -> str:
    """The Content-Type to serve `name` with."""
    suffix = Path(name).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def cache_control(key: str, max_age: int = DEFAULT_MAX_AGE) -> str:
    """The Cache-Control for object `key`."""
    if Path(key).name in NO_CACHE_NAMES:
        return NO_CACHE
    return f"public, max-age={max_age}"


def client_files(web_dir: Path) -> list[tuple[str, Path]]:
    """(key, path) for every file of the client, skipping hidden files and Python caches."""
    if not (web_dir / "index.html").is_file():
        raise SetupError(f"{web_dir} has no index.html; is it the web client folder?")
    found = []
    for path in sorted(web_dir.rglob("*")):
        rel = path.relative_to(web_dir)
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            continue
        found.append((rel.as_posix(), path))
    return found


def config_body(ws_url: str) -> bytes:
    """The `config.json` that tells the client where its websocket is."""
    if not ws_url.startswith(("ws://", "wss://")):
        raise SetupError(f"websocket URL {ws_url!r} must start with wss:// (or ws://)")
    return (json.dumps({"wsUrl": ws_url}, indent=2) + "\n").encode()


def publish(
    s3: Any,
    bucket: str,
    web_dir: Path = WEB_DIR,
    ws_url: str | None = None,
    max_age: int = DEFAULT_MAX_AGE,
    progress: Callable[[str], None] = print,
) -> list[Upload]:
    """Upload `web_dir` to `bucket`; with `ws_url`, write `config.json` pointing at it.

    Without `ws_url` a `config.json` in `web_dir` is uploaded as it is, and without either the
    client talks to its own origin.
    """
    files: list[tuple[str, bytes]] = [
        (key, path.read_bytes())
        for key, path in client_files(web_dir)
        if not (ws_url and key == CONFIG_NAME)
    ]
    if ws_url:
        files.append((CONFIG_NAME, config_body(ws_url)))
    done = []
    # index.html last: a visitor in the middle of the upload gets the old page with old assets.
    files.sort(key=lambda item: (item[0] == "index.html", item[0]))
    for key, body in files:
        upload = Upload(key, content_type(key), cache_control(key, max_age), len(body))
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=upload.content_type,
            CacheControl=upload.cache_control,
        )
        progress(f"  s3://{bucket}/{key}  {upload.content_type}  {upload.cache_control}")
        done.append(upload)
    return done


def delete_stale(
    s3: Any, bucket: str, keep: set[str], progress: Callable[[str], None] = print
) -> list[str]:
    """Delete every object in `bucket` whose key is not in `keep` (files gone from the client)."""
    stale = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        stale += [o["Key"] for o in page.get("Contents", []) if o["Key"] not in keep]
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1000 keys
        batch = [{"Key": key} for key in stale[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    for key in stale:
        progress(f"  deleted s3://{bucket}/{key}")
    return stale


def invalidate(cloudfront: Any, distribution_id: str) -> str:
    """Ask CloudFront to drop its cached copies of the client; returns the invalidation id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"pac-arena-{time.time_ns()}",
        },
    )
    return str(answer["Invalidation"]["Id"])
