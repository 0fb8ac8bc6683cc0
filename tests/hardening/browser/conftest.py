"""Browser fixtures from tests/e2e, against a server whose chat limit lets a payload list through.

Kept in its own package: sync Playwright runs an event loop for the package's lifetime, and the
asyncio tests beside this folder need none running.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import browser, new_page, playwright  # noqa: F401
from tests.hardening.support import ServerProcess


@pytest.fixture(scope="package")
def server_url() -> Iterator[str]:
    proc = ServerProcess({"CHAT_LINES_PER_10S": "200", "COUNTDOWN_S": "0.5"}, name="xss").start()
    try:
        yield proc.url("/")
    finally:
        proc.stop()
