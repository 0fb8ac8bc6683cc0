"""Fixtures: three real server processes sharing a real redis-server, and clients for them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.procs import ServerProcess, cluster
from tests.server.wsclient import Client
from tests.support.redis_server import RedisServer

OpenClient = Callable[..., Awaitable[Client]]


@pytest.fixture(scope="module")
def shared_cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    """Three processes for tests that leave them running (each test uses fresh rooms)."""
    if not redis_server.running:
        redis_server.start()
    redis_server.flush()
    folder: Path = tmp_path_factory.mktemp("cluster")
    with cluster(redis_server.url, folder) as procs:
        yield procs


@pytest.fixture
async def open_client() -> AsyncIterator[OpenClient]:
    clients: list[Client] = []

    async def open_(proc: ServerProcess, **kwargs: Any) -> Client:
        c = await Client.open(proc.port, **kwargs)
        clients.append(c)
        return c

    yield open_
    for c in clients:
        await c.close()
