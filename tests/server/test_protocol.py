"""The wire format: parsing client frames, encoding state frames, and their sizes."""

from __future__ import annotations

import dataclasses
import random

import pytest

from server import protocol
from server.game.view import (
    ArenaView,
    Direction,
    Event,
    EventKind,
    Fruit,
    GhostId,
    GhostLook,
    GhostView,
    Mode,
    Phase,
    PlayerState,
    PlayerView,
)

N_PELLETS = 244


def make_view(
    frame: int,
    n_players: int = 8,
    pellets: int = (1 << N_PELLETS) - 1,
    scores: list[int] | None = None,
    rng: random.Random | None = None,
) -> ArenaView:
    rng = rng or random.Random(frame)
    players = tuple(
        PlayerView(
            id=i,
            x=rng.randrange(-16, 240),
            y=rng.randrange(24, 280),
            direction=Direction(rng.randrange(4)),
            state=PlayerState(rng.randrange(4)),
            powered=rng.random() < 0.5,
            protected=rng.random() < 0.5,
            score=(scores or [0] * 8)[i],
            lives=3,
        )
        for i in range(n_players)
    )
    ghosts = tuple(
        GhostView(
            GhostId(g),
            rng.randrange(-16, 240),
            rng.randrange(24, 280),
            Direction(rng.randrange(4)),
            GhostLook(rng.randrange(5)),
        )
        for g in range(4)
    )
    return ArenaView(
        frame=frame,
        level=1,
        phase=Phase.PLAYING,
        players=players,
        ghosts=ghosts,
        pellets=pellets,
        pellets_left=bin(pellets).count("1"),
        fruit=Fruit.NONE,
        fright_frames_left=0,
        winner=None,
    )


def test_eight_player_delta_fits_the_budget() -> None:
    prev = make_view(100)
    view = make_view(103, pellets=prev.pellets & ~(1 << 17), scores=[10] + [0] * 7)
    delta = protocol.encode_delta(2, view, prev, [Event(EventKind.DOT_EATEN, 103, 0, None, 17, 10)])
    assert delta is not None
    # The doc's figure: header 14 + 8 players x 4 + ghosts 1+12 + 1 eaten (1+2) + 1 score (1+6)
    # + no events (1) = 70; with nothing eaten and no score change it is 62.
    assert len(delta) == 14 + 32 + 13 + 3 + 7 + 1
    assert protocol.decode_state(delta).scores == {0: (10, 3)}
    quiet = protocol.encode_delta(
        3, make_view(106, pellets=view.pellets, scores=[10] + [0] * 7), view, []
    )
    assert quiet is not None and len(quiet) == 62
    assert len(protocol.ws_binary_frame(quiet)) == 64


def test_keyframe_round_trip() -> None:
    view = make_view(5, pellets=((1 << N_PELLETS) - 1) & ~0b1011, scores=list(range(0, 800, 100)))
    events = [
        Event(EventKind.GHOST_EATEN, 5, 3, 1, 0, 400),
        Event(EventKind.DOT_EATEN, 5, 1, None, 3, 10),
    ]
    data = protocol.encode_keyframe(9, view, N_PELLETS, events)
    got = protocol.decode_state(data)
    assert got.kind == protocol.KEYFRAME and got.seq == 9 and got.frame == 5
    assert got.pellets == view.pellets
    assert [
        (p.id, p.x, p.y, p.direction, p.state, p.powered, p.protected) for p in got.players
    ] == [
        (p.id, p.x, p.y, int(p.direction), int(p.state), p.powered, p.protected)
        for p in view.players
    ]
    assert got.ghosts == [(g.x, g.y, int(g.direction), int(g.look)) for g in view.ghosts]
    assert got.scores == {p.id: (p.score, p.lives) for p in view.players}
    # Pellet events travel in the pellet section, not the event list.
    assert got.events == [(3, 3, 1, 0, 400)]


def test_deltas_applied_to_a_keyframe_equal_the_next_keyframe() -> None:
    rng = random.Random(7)
    encoder = protocol.StateEncoder(N_PELLETS)
    pellets = (1 << N_PELLETS) - 1
    scores = [0] * 8
    first = encoder.next(make_view(0, pellets=pellets, scores=scores, rng=rng), [])
    assert first.delta is None  # nothing to be relative to yet
    state = protocol.decode_state(first.keyframe())
    encoder.synced()
    assert state.pellets is not None
    bitmap, known = state.pellets, dict(state.scores)
    for frame in range(1, 90):
        if frame < 60:  # eat for a while, then stand still so held-back scores drain
            for _ in range(rng.randrange(4)):
                i = rng.randrange(N_PELLETS)
                if pellets >> i & 1:
                    pellets &= ~(1 << i)
                    scores[i % 8] += 10
        out = encoder.next(make_view(frame, pellets=pellets, scores=scores, rng=rng), [])
        assert out.delta is not None
        delta = protocol.decode_state(out.delta)
        assert delta.seq == out.seq
        for index in delta.eaten:
            bitmap &= ~(1 << index)
        known.update(delta.scores)
        key = protocol.decode_state(out.keyframe())
        assert key.pellets == bitmap  # pellets are never held back
        for pid, (score, lives) in key.scores.items():
            assert known[pid][1] == lives  # nor are lives
            assert known[pid][0] <= score
    assert known == key.scores  # held-back scores arrive within SCORE_EVERY frames


def test_score_updates_are_spread_but_lives_go_out_at_once() -> None:
    encoder = protocol.StateEncoder(N_PELLETS)
    encoder.next(make_view(0, scores=[0] * 8), [])
    encoder.synced()
    seen: list[set[int]] = []
    every = protocol.SCORE_EVERY
    for frame in range(1, every + 1):
        out = encoder.next(make_view(frame, scores=[frame * 10] * 8), [])
        assert out.delta is not None
        seen.append(set(protocol.decode_state(out.delta).scores))
    # 8 players changing every frame cost about 8 / SCORE_EVERY records a frame, not 8,
    # and within SCORE_EVERY frames every player's score went out exactly once.
    assert all(len(ids) <= -(-8 // every) for ids in seen)
    assert sorted(i for ids in seen for i in ids) == list(range(8))
    view = make_view(every + 1, scores=[80] * 8)
    lost = dataclasses.replace(
        view,
        players=tuple(
            PlayerView(p.id, p.x, p.y, p.direction, p.state, False, False, p.score, 2)
            for p in view.players
        ),
    )
    out = encoder.next(lost, [])
    assert out.delta is not None
    assert len(protocol.decode_state(out.delta).scores) == 8


def test_refilled_pellets_force_a_keyframe() -> None:
    prev = make_view(1, pellets=0b1)
    assert protocol.encode_delta(1, make_view(2, pellets=0b11), prev, []) is None


def test_positions_in_the_tunnel_survive_the_byte_offsets() -> None:
    view = make_view(1, n_players=1)
    p = view.players[0]
    edge = dataclasses.replace(
        view, players=(PlayerView(0, -16, 279, p.direction, p.state, False, False, 0, 3),)
    )
    got = protocol.decode_state(protocol.encode_keyframe(1, edge, N_PELLETS, []))
    assert (got.players[0].x, got.players[0].y) == (-16, 279)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"hello","v":1,"name":"Ada"}', protocol.Hello(1, "Ada", None)),
        ('{"type":"hello","v":1,"name":"Ada","token":"abc"}', protocol.Hello(1, "Ada", "abc")),
        ('{"type":"quick_play"}', protocol.QuickPlay(Mode.ARENA)),
        ('{"type":"create","mode":"classic","private":true}', protocol.Create(Mode.CLASSIC, True)),
        ('{"type":"join","room":"k7qxm"}', protocol.Join("K7QXM", False)),
        ('{"type":"join","room":"K7QXM","spectate":true}', protocol.Join("K7QXM", True)),
        ('{"type":"input","dir":"left"}', protocol.Input(Direction.LEFT)),
        ('{"type":"chat","channel":"room","text":"gg"}', protocol.Chat("room", "gg")),
        ('{"type":"keyframe"}', protocol.KeyframeRequest()),
        ('{"type":"ping","t":12.5}', protocol.Ping(12.5)),
        ('{"type":"leave"}', protocol.Leave()),
        ('{"type":"start"}', protocol.Start()),
    ],
)
def test_parse_client_messages(text: str, expected: protocol.ClientMessage) -> None:
    assert protocol.parse_text(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "bad_json"),
        ("[1,2]", "bad_message"),
        ('{"v":1}', "bad_message"),
        ('{"type":"hello","v":"1","name":"Ada"}', "bad_message"),
        ('{"type":"hello","v":true,"name":"Ada"}', "bad_message"),
        ('{"type":"hello","v":1}', "bad_message"),
        ('{"type":"input","dir":"north"}', "bad_message"),
        ('{"type":"create","mode":"battle"}', "bad_message"),
        ('{"type":"chat","channel":"world","text":"x"}', "bad_message"),
        ('{"type":"chat","channel":"room","text":5}', "bad_message"),
        ('{"type":"jump"}', "unknown_type"),
    ],
)
def test_bad_client_messages_get_a_code(text: str, code: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_text(text)
    assert caught.value.code == code


def test_binary_intent() -> None:
    assert protocol.parse_binary(bytes([0x10, 3])) == protocol.Input(Direction.UP)
    assert protocol.encode_intent(Direction.DOWN) == b"\x10\x01"
    for bad in (b"", b"\x10", b"\x10\x04", b"\x11\x00", b"\x10\x00\x00"):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_binary(bad)


def test_server_messages_are_json_objects() -> None:
    assert protocol.decode(protocol.error("unknown_type", "nope", "jump")) == {
        "type": "error",
        "code": "unknown_type",
        "message": "nope",
        "ref": "jump",
    }
    over = protocol.decode(protocol.game_over(1, [(0, "A", 10), (1, "B", 30)]))
    assert [s["id"] for s in over["scores"]] == [1, 0]
    joined = protocol.decode(protocol.joined("ABCDE", Mode.ARENA, 0, "t", ["#"], "waiting"))
    assert joined["link"] == "/?room=ABCDE" and joined["mode"] == "arena"


def test_ws_frame_header_lengths() -> None:
    assert protocol.ws_binary_frame(b"x" * 10)[:2] == b"\x82\x0a"
    assert protocol.ws_binary_frame(b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert len(protocol.ws_binary_frame(b"x" * 70000)) == 70010
