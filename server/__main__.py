"""`python -m server`: read the configuration, serve until SIGTERM/SIGINT, exit 0."""

from __future__ import annotations

import asyncio
import sys

from server import log
from server.app import run
from server.config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    log.setup(config.log_level, config.log_json)
    try:
        import uvloop  # optional speed-up (the "fast" extra)
    except ImportError:
        asyncio.run(run(config))
    else:
        uvloop.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
