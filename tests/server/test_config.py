"""Settings come from the environment, with defaults and clear errors."""

from __future__ import annotations

import pytest

from server.config import Config, ConfigError


def test_defaults() -> None:
    c = Config.from_env({})
    assert (c.host, c.port, c.tick_hz, c.send_hz) == ("127.0.0.1", 8000, 60, 20)
    assert c.url == "http://localhost:8000/"
    assert (c.metrics_port, c.forwarded_for_hops, c.game_over_hold_s) == (0, 0, 5.0)
    assert c.reconnect_grace_s == 30.0 and c.chat_history == 50 and c.chat_max_chars == 200


def test_values_from_the_environment() -> None:
    c = Config.from_env(
        {
            "PORT": "9000",
            "SEND_HZ": "30",
            "ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "METRICS_PORT": "9100",
            "FORWARDED_FOR_HOPS": "1",
            "SOCKET_SEND_BUFFER": "0",
            "GAME_OVER_HOLD_S": "2.5",
            "PUBLIC_URL": "https://pac.example/",
            "LISTEN_BACKLOG": "512",
        }
    )
    assert (c.port, c.send_hz, c.metrics_port, c.forwarded_for_hops) == (9000, 30, 9100, 1)
    assert c.allowed_origins == ("https://a.example", "https://b.example")
    assert (c.socket_send_buffer, c.game_over_hold_s) == (0, 2.5)
    assert c.url == "https://pac.example/"
    assert c.listen_backlog == 512 and Config.from_env({}).listen_backlog == 4096


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"TICK_HZ": "0"}, "TICK_HZ"),
        ({"FORWARDED_FOR_HOPS": "-1"}, "FORWARDED_FOR_HOPS"),
        ({"GAME_OVER_HOLD_S": "soon"}, "GAME_OVER_HOLD_S"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LISTEN_BACKLOG": "0"}, "LISTEN_BACKLOG"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    assert needle in str(caught.value)
