"""Fixtures shared by every test package (a real redis-server, the two bus backends)."""

from __future__ import annotations

pytest_plugins = ["tests.support.redis_server", "tests.support.backends"]
