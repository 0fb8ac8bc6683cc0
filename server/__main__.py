"""`python -m server`: read the configuration, serve until SIGTERM/SIGINT, exit 0."""

from __future__ import annotations

import asyncio
import logging
import sys

from server import gamecore, log
from server.app import run
from server.config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    log.setup(config.log_level, config.log_json)
    # The compiled core is an optional build (deploy/compile_core.py): say which one runs.
    level = logging.WARNING if gamecore.kind() == "mixed" else logging.INFO
    logging.getLogger("server").log(
        level, f"game core: {gamecore.describe()}", extra={"game_core": gamecore.kind()}
    )
    try:
        import uvloop  # optional speed-up (the "fast" extra)
    except ImportError:
        asyncio.run(run(config))
    else:
        uvloop.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
