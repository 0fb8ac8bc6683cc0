"""`python -m server.analytics`: consume the event stream and print the aggregates."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from collections.abc import Mapping, Sequence

from server.analytics.aggregate import Totals
from server.analytics.consumer import GROUP, Consumer
from server.analytics.events import STREAM
from server.analytics.report import render
from server.bus import BusUnavailable
from server.config import Config, ConfigError

NEEDS_REDIS = (
    "python -m server.analytics needs REDIS_URL (for example redis://127.0.0.1:6379/0).\n"
    "Without it the game server keeps its event stream in its own memory, where no other\n"
    "process can read it. Run the servers with REDIS_URL set, then run this with the same one."
)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m server.analytics",
        description="Consume the analytics event stream and print the aggregates.",
    )
    parser.add_argument("--group", default=GROUP, help="consumer group (default: %(default)s)")
    parser.add_argument(
        "--consumer",
        default=f"analytics-{socket.gethostname()}",
        help="this consumer's name; restart under the same name to resume its unacknowledged "
        "records (default: %(default)s)",
    )
    parser.add_argument("--stream", default=STREAM, help="stream key (default: %(default)s)")
    parser.add_argument("--follow", action="store_true", help="keep reading; print every 10 s")
    parser.add_argument("--json", action="store_true", help="print the aggregates as JSON")
    return parser.parse_args(argv)


async def _run(config: Config, args: argparse.Namespace) -> int:
    from server.bus.redis import RedisBus

    bus = RedisBus.from_url(config.redis_url)
    try:
        consumer = Consumer(bus, name=args.consumer, group=args.group, stream=args.stream)
        await consumer.start()
        await consumer.drain()
        _print(await consumer.store.load(), args, consumer.processed)
        while args.follow:
            loop = asyncio.get_running_loop()
            until = loop.time() + 10
            while loop.time() < until:
                await consumer.step(block=1.0)
            _print(await consumer.store.load(), args, consumer.processed)
    except BusUnavailable as exc:
        print(f"python -m server.analytics: Redis is unavailable: {exc}", file=sys.stderr)
        return 1
    finally:
        await bus.close()
    return 0


def _print(totals: Totals, args: argparse.Namespace, processed: int) -> None:
    report = totals.report()
    if args.json:
        print(json.dumps({**report, "this_run": processed}, indent=2))
    else:
        print(render(report, args.stream, args.group, processed))
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parse(argv)
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        print(f"python -m server.analytics: {exc}", file=sys.stderr)
        return 2
    if not config.redis_url:
        print(NEEDS_REDIS, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(config, args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
