"""Configuration, read once from the environment; the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """An environment variable has a value the server cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Config:
    """Every setting the server uses. Build it with `Config.from_env()`; tests pass values."""

    # Network
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # printed at start; derived from host/port when empty
    allowed_origins: tuple[str, ...] = ()  # extra origins besides the server's own
    static_dir: str = ""  # the web client; empty means the repo's web/ folder
    serve_static: bool = True

    # Simulation and sending
    tick_hz: int = 60
    send_hz: int = 20
    keyframe_interval_s: float = 2.0
    countdown_s: float = 3.0
    game_over_hold_s: float = 5.0  # final scores stay up this long, then the room waits again

    # Rooms and seats
    max_players_per_room: int = 8
    max_rooms: int = 500
    reconnect_grace_s: float = 30.0
    level_limit: int = 0  # arena games end after this level; 0 means no limit

    # Limits
    max_message_bytes: int = 4096
    max_connections: int = 10_000
    max_connections_per_ip: int = 32
    # Connections the kernel completes and queues while the loop is busy (capped by the
    # kernel's somaxconn). asyncio's default of 100 drops arrivals in a burst of reconnects,
    # and a dropped SYN is retried only after a second, then three.
    listen_backlog: int = 4096
    # Behind a load balancer every peer address is the balancer's: take the client's address
    # from X-Forwarded-For, this many entries from the right (1 behind one ALB; 0 = ignore it).
    forwarded_for_hops: int = 0
    messages_per_second: float = 30.0
    message_burst: int = 60
    chat_lines_per_10s: int = 5
    chat_history: int = 50
    chat_max_chars: int = 200

    # Timeouts
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    slow_client_s: float = 5.0
    write_buffer_high: int = 64 * 1024
    # Kernel send buffer per connection (0 = kernel default, which autotunes to megabytes and
    # would hide a stuck client from the write-buffer check for minutes).
    socket_send_buffer: int = 32 * 1024
    drain_timeout_s: float = 20.0

    # Shared backend
    redis_url: str = ""
    instance_id: str = ""

    # Metrics: Prometheus text on this port (0 = off; keep it off the public load balancer)
    metrics_port: int = 0

    # Logging
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def url(self) -> str:
        if self.public_url:
            return self.public_url
        shown = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::", "") else self.host
        return f"http://{shown}:{self.port}/"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        log_level = env.get("LOG_LEVEL", "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"LOG_LEVEL={log_level!r} is not DEBUG, INFO, WARNING or ERROR")
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000, 0, 65535),
            public_url=env.get("PUBLIC_URL", ""),
            allowed_origins=_list(env, "ALLOWED_ORIGINS"),
            static_dir=env.get("STATIC_DIR", ""),
            serve_static=env.get("SERVE_STATIC", "1") not in ("0", "false", "no"),
            tick_hz=_int(env, "TICK_HZ", 60, 1, 240),
            send_hz=_int(env, "SEND_HZ", 20, 1, 60),
            keyframe_interval_s=_float(env, "KEYFRAME_INTERVAL_S", 2.0, 0.1, 60.0),
            countdown_s=_float(env, "COUNTDOWN_S", 3.0, 0.0, 30.0),
            game_over_hold_s=_float(env, "GAME_OVER_HOLD_S", 5.0, 0.0, 300.0),
            max_players_per_room=_int(env, "MAX_PLAYERS_PER_ROOM", 8, 1, 8),
            max_rooms=_int(env, "MAX_ROOMS", 500, 1, 100_000),
            reconnect_grace_s=_float(env, "RECONNECT_GRACE_S", 30.0, 0.0, 3600.0),
            level_limit=_int(env, "LEVEL_LIMIT", 0, 0, 255),
            max_message_bytes=_int(env, "MAX_MESSAGE_BYTES", 4096, 256, 1 << 20),
            max_connections=_int(env, "MAX_CONNECTIONS", 10_000, 1, 1_000_000),
            max_connections_per_ip=_int(env, "MAX_CONNECTIONS_PER_IP", 32, 1, 100_000),
            listen_backlog=_int(env, "LISTEN_BACKLOG", 4096, 1, 65535),
            forwarded_for_hops=_int(env, "FORWARDED_FOR_HOPS", 0, 0, 10),
            messages_per_second=_float(env, "MESSAGES_PER_SECOND", 30.0, 1.0, 10_000.0),
            message_burst=_int(env, "MESSAGE_BURST", 60, 1, 100_000),
            chat_lines_per_10s=_int(env, "CHAT_LINES_PER_10S", 5, 1, 1000),
            chat_history=_int(env, "CHAT_HISTORY", 50, 0, 1000),
            chat_max_chars=_int(env, "CHAT_MAX_CHARS", 200, 1, 2000),
            ping_interval_s=_float(env, "PING_INTERVAL_S", 20.0, 0.5, 300.0),
            ping_timeout_s=_float(env, "PING_TIMEOUT_S", 20.0, 0.5, 300.0),
            slow_client_s=_float(env, "SLOW_CLIENT_S", 5.0, 0.5, 300.0),
            write_buffer_high=_int(env, "WRITE_BUFFER_HIGH", 64 * 1024, 1024, 64 << 20),
            socket_send_buffer=_int(env, "SOCKET_SEND_BUFFER", 32 * 1024, 0, 64 << 20),
            drain_timeout_s=_float(env, "DRAIN_TIMEOUT_S", 20.0, 0.0, 600.0),
            redis_url=env.get("REDIS_URL", ""),
            instance_id=env.get("INSTANCE_ID", ""),
            metrics_port=_int(env, "METRICS_PORT", 0, 0, 65535),
            log_level=log_level,
            log_json=env.get("LOG_FORMAT", "json").lower() != "text",
        )
