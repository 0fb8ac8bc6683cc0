"""Fixtures: a real server on a free loopback port, and real websocket clients for it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from server.app import App
from server.config import Config
from tests.server.wsclient import Client

StartServer = Callable[..., Awaitable[App]]
OpenClient = Callable[..., Awaitable[Client]]


def make_config(**overrides: Any) -> Config:
    base = Config(host="127.0.0.1", port=0, countdown_s=0.0, log_json=True)
    return dataclasses.replace(base, **overrides)


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    apps: list[App] = []

    async def start(**overrides: Any) -> App:
        app = App(make_config(**overrides))
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        await app.stop()


@pytest.fixture
async def server(start_server: StartServer) -> App:
    return await start_server()


@pytest.fixture
async def client(server: App) -> AsyncIterator[OpenClient]:
    clients: list[Client] = []

    async def open_client(app: App | None = None, **kwargs: Any) -> Client:
        c = await Client.open((app or server).port, **kwargs)
        clients.append(c)
        return c

    yield open_client
    for c in clients:
        await c.close()
