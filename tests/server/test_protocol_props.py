"""Property tests: any view round-trips through the codec; no client input crashes the parser."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

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
    Phase,
    PlayerState,
    PlayerView,
)

N = 244

players = st.lists(
    st.builds(
        PlayerView,
        id=st.integers(0, 7),
        x=st.integers(-16, 239),
        y=st.integers(24, 279),
        direction=st.sampled_from(Direction),
        state=st.sampled_from(PlayerState),
        powered=st.booleans(),
        protected=st.booleans(),
        score=st.integers(0, 2**32 - 1),
        lives=st.integers(0, 9),
    ),
    max_size=8,
    unique_by=lambda p: p.id,
).map(lambda ps: tuple(sorted(ps, key=lambda p: p.id)))

ghosts = st.tuples(
    *(
        st.builds(
            GhostView,
            id=st.just(GhostId(i)),
            x=st.integers(-16, 239),
            y=st.integers(24, 279),
            direction=st.sampled_from(Direction),
            look=st.sampled_from(GhostLook),
        )
        for i in range(4)
    )
)

views = st.builds(
    ArenaView,
    frame=st.integers(0, 2**32 - 1),
    level=st.integers(1, 255),
    phase=st.sampled_from(Phase),
    players=players,
    ghosts=ghosts,
    pellets=st.integers(0, 2**N - 1),
    pellets_left=st.just(0),
    fruit=st.sampled_from(Fruit),
    fright_frames_left=st.integers(0, 0xFFFF),
    winner=st.none(),
)

events = st.lists(
    st.builds(
        Event,
        kind=st.sampled_from(EventKind),
        frame=st.just(0),
        player=st.one_of(st.none(), st.integers(0, 7)),
        other=st.one_of(st.none(), st.integers(0, 7)),
        value=st.integers(0, 0xFFFF),
        points=st.integers(0, 0xFFFF),
    ),
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(views, events, st.integers(0, 0xFFFF))
def test_keyframes_round_trip(view: ArenaView, evs: list[Event], seq: int) -> None:
    got = protocol.decode_state(protocol.encode_keyframe(seq, view, N, evs))
    assert (got.seq, got.frame, got.level, got.phase, got.fruit) == (
        seq,
        view.frame,
        view.level,
        int(view.phase),
        int(view.fruit),
    )
    assert got.fright == (view.fright_frames_left > 0)
    assert got.pellets == view.pellets
    assert [(p.id, p.x, p.y) for p in got.players] == [(p.id, p.x, p.y) for p in view.players]
    assert got.scores == {p.id: (p.score, p.lives) for p in view.players}
    assert got.events == [
        (int(e.kind), e.player, e.other, e.value, e.points)
        for e in evs
        if e.kind not in protocol.PELLET_EVENTS
    ]


@settings(max_examples=100, deadline=None)
@given(views, st.integers(0, 2**N - 1))
def test_a_delta_carries_exactly_the_eaten_pellets(view: ArenaView, before: int) -> None:
    prev = dataclasses.replace(view, pellets=before)
    now = dataclasses.replace(view, pellets=before & view.pellets)
    data = protocol.encode_delta(1, now, prev, [])
    eaten = bin(before & ~now.pellets).count("1")
    if eaten > 255:
        assert data is None
        return
    assert data is not None
    got = protocol.decode_state(data)
    bitmap = before
    for i in got.eaten:
        bitmap &= ~(1 << i)
    assert bitmap == now.pellets


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        json_values.map(json.dumps),
        st.dictionaries(
            st.sampled_from(["type", "v", "name", "dir", "mode", "room", "channel", "text", "t"]),
            json_values | st.sampled_from(["hello", "input", "chat", "join", "create", "ping"]),
        ).map(json.dumps),
    )
)
def test_no_text_frame_crashes_the_parser(text: str) -> None:
    try:
        protocol.parse_text(text)
    except protocol.ProtocolError as exc:
        assert exc.code in {"bad_json", "bad_message", "unknown_type"}


@given(st.binary(max_size=8))
def test_no_binary_frame_crashes_the_parser(data: bytes) -> None:
    try:
        assert protocol.parse_binary(data).direction == Direction(data[1])
    except protocol.ProtocolError as exc:
        assert exc.code == "bad_message"
