"""The browser's state.js and net.js, run in real Chromium against the server's own codec.

Frames are built with `server.protocol` (the server's encoder) and decoded by `web/state.js`;
both sides must agree field by field. Interpolation and the seq-gap rule are checked too.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from playwright.sync_api import Page

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
from tests.e2e.conftest import NewPage

pytestmark = pytest.mark.browser

MAZE = ["." * 28] * 9 + ["o" + "." * 26 + "o"]
N_PELLETS = 28 * 10


@pytest.fixture(scope="module")
def page(new_page: NewPage) -> Page:
    return new_page("", name="Codec")


def random_view(rng: random.Random, frame: int, pellets: int) -> ArenaView:
    ids = sorted(rng.sample(range(8), rng.randint(0, 8)))
    players = tuple(
        PlayerView(
            id=i,
            x=rng.randint(-16, 239),
            y=rng.randint(24, 279),
            direction=rng.choice(list(Direction)),
            state=rng.choice(list(PlayerState)),
            powered=rng.random() < 0.5,
            protected=rng.random() < 0.5,
            score=rng.randint(0, 4_000_000_000),
            lives=rng.randint(0, 9),
        )
        for i in ids
    )
    ghosts = tuple(
        GhostView(
            g,
            rng.randint(-16, 239),
            rng.randint(24, 279),
            rng.choice(list(Direction)),
            rng.choice(list(GhostLook)),
        )
        for g in GhostId
    )
    return ArenaView(
        frame=frame,
        level=rng.randint(1, 255),
        phase=rng.choice(list(Phase)),
        players=players,
        ghosts=ghosts,
        pellets=pellets,
        pellets_left=bin(pellets).count("1"),
        fruit=rng.choice(list(Fruit)),
        fright_frames_left=rng.choice([0, rng.randint(1, 65535)]),
        winner=None,
    )


def random_events(rng: random.Random) -> list[Event]:
    kinds = [k for k in EventKind if k not in protocol.PELLET_EVENTS]
    return [
        Event(
            rng.choice(kinds),
            0,
            rng.choice([None, rng.randint(0, 7)]),
            rng.choice([None, rng.randint(0, 7)]),
            rng.randint(0, 65535),
            rng.randint(0, 65535),
        )
        for _ in range(rng.randint(0, 5))
    ]


def expected(data: bytes) -> dict[str, Any]:
    """The server's decoding of `data`, shaped like state.js's output."""
    d = protocol.decode_state(data)
    out: dict[str, Any] = {
        "kind": d.kind,
        "fright": d.fright,
        "seq": d.seq,
        "frame": d.frame,
        "level": d.level,
        "phase": d.phase,
        "fruit": d.fruit,
        "frightLeft": d.fright_left,
        "players": [
            {
                "id": p.id,
                "x": p.x,
                "y": p.y,
                "dir": p.direction,
                "state": p.state,
                "powered": p.powered,
                "protected": p.protected,
            }
            for p in d.players
        ],
        "ghosts": [
            {"id": i, "x": x, "y": y, "dir": dr, "look": lk}
            for i, (x, y, dr, lk) in enumerate(d.ghosts)
        ],
        "eaten": d.eaten,
        "scores": [{"id": i, "score": s, "lives": li} for i, (s, li) in d.scores.items()],
        "events": [
            {"kind": k, "player": p, "other": o, "value": v, "points": pt}
            for k, p, o, v, pt in d.events
        ],
    }
    if d.pellets is not None:
        n_bytes = (N_PELLETS + 7) // 8
        out["pellets"] = list(d.pellets.to_bytes(n_bytes, "little"))
    else:
        out["pellets"] = None
    return out


DECODE_ALL = """async (frames) => {
  const { decodeFrame } = await import('/state.js');
  return frames.map((bytes) => {
    const f = decodeFrame(new Uint8Array(bytes).buffer);
    return { ...f, pellets: f.pellets ? Array.from(f.pellets) : null };
  });
}"""


def test_state_js_decodes_what_the_server_encodes(page: Page) -> None:
    rng = random.Random(7)
    frames: list[bytes] = []
    pellets = (1 << N_PELLETS) - 1
    prev: ArenaView | None = None
    for seq in range(1, 61):
        if rng.random() < 0.5:
            for _ in range(rng.randint(0, 6)):
                pellets &= ~(1 << rng.randrange(N_PELLETS))
        view = random_view(rng, seq * 3, pellets)
        events = random_events(rng)
        delta = protocol.encode_delta(seq, view, prev, events) if prev else None
        frames.append(protocol.encode_keyframe(seq, view, N_PELLETS, events))
        if delta is not None:
            frames.append(delta)
        prev = view
    decoded = page.evaluate(DECODE_ALL, [list(f) for f in frames])
    assert len(decoded) == len(frames)
    kinds = {d["kind"] for d in decoded}
    assert kinds == {protocol.KEYFRAME, protocol.DELTA}
    for got, data in zip(decoded, frames, strict=True):
        assert got == expected(data)


GAME_STATE = """async ([maze, frames]) => {
  const { GameState, decodeFrame } = await import('/state.js');
  const gs = new GameState(60);
  gs.reset(maze);
  const out = [];
  for (const [bytes, now] of frames) {
    const need = gs.apply(decodeFrame(new Uint8Array(bytes).buffer), now);
    out.push({ need, synced: gs.synced, left: gs.pelletsLeft(),
               scores: Object.fromEntries(gs.scores) });
  }
  // Halfway between the last two snapshots (50 ms apart, rendered 100 ms behind).
  const v = gs.view(frames[frames.length - 1][1] + 100 - 25);
  out.push({ players: v.players, pending: [...v.pendingPellets] });
  return out;
}"""


def player(pid: int, x: int, score: int = 0) -> PlayerView:
    return PlayerView(pid, x, 212, Direction.LEFT, PlayerState.ALIVE, False, False, score, 3)


def view_at(frame: int, players: tuple[PlayerView, ...], pellets: int) -> ArenaView:
    ghosts = tuple(GhostView(g, 111, 116, Direction.LEFT, GhostLook.NORMAL) for g in GhostId)
    return ArenaView(frame, 1, Phase.PLAYING, players, ghosts, pellets, 0, Fruit.NONE, 0, None)


def test_gap_requests_a_keyframe_and_interpolation_snaps_across_the_tunnel(page: Page) -> None:
    full = (1 << N_PELLETS) - 1
    v1 = view_at(0, (player(0, 100), player(1, -14)), full)
    v2 = view_at(3, (player(0, 104, 10), player(1, 237)), full & ~1)
    v3 = view_at(6, (player(0, 108, 20), player(1, 233)), full & ~0b11)
    v5 = view_at(12, (player(0, 116, 30), player(1, 225)), full & ~0b111)
    v6 = view_at(15, (player(0, 120, 40), player(1, 221), player(2, 60)), full & ~0b1111)
    v7 = view_at(18, (player(0, 124, 50), player(1, -14), player(2, 100)), full & ~0b11111)
    frames = [
        (protocol.encode_keyframe(1, v1, N_PELLETS, []), 1000),
        (protocol.encode_delta(2, v2, v1, []), 1050),
        (protocol.encode_delta(3, v3, v2, []), 1100),
        # seq 4 lost on the way: the next delta must not be applied
        (protocol.encode_delta(5, v5, view_at(9, v5.players, full & ~0b111), []), 1200),
        (protocol.encode_keyframe(6, v6, N_PELLETS, []), 1250),
        (protocol.encode_delta(7, v7, v6, []), 1300),
    ]
    out = page.evaluate(GAME_STATE, [MAZE, [[list(b or b""), t] for b, t in frames]])
    steps, final = out[:-1], out[-1]
    assert [s["need"] for s in steps] == [False, False, False, True, False, False]
    assert [s["synced"] for s in steps] == [True, True, True, False, True, True]
    assert [s["left"] for s in steps] == [N_PELLETS - n for n in (0, 1, 2, 2, 4, 5)]
    assert steps[2]["scores"]["0"] == {"score": 20, "lives": 3}
    assert steps[3]["scores"]["0"] == {"score": 20, "lives": 3}  # skipped during the gap
    assert steps[5]["scores"]["0"] == {"score": 50, "lives": 3}
    by_id = {p["id"]: p for p in final["players"]}
    assert by_id[0]["x"] == pytest.approx(122)  # lerped between 120 and 124
    assert by_id[1]["x"] in (221, -14)  # tunnel wrap: snapped, never drawn mid-screen
    assert by_id[2]["x"] in (60, 100)  # 40 px in 3 frames is a teleport (respawn): snapped
    assert final["pending"] == [4]  # eaten in a snapshot not yet on screen: still drawn


def test_reconnect_backoff_grows_with_jitter_and_caps(page: Page) -> None:
    delays = page.evaluate(
        """async () => {
          const { backoffDelay } = await import('/net.js');
          const lo = [0, 1, 2, 3, 4, 5, 8].map((a) => backoffDelay(a, () => 0));
          const hi = [0, 1, 2, 3, 4, 5, 8].map((a) => backoffDelay(a, () => 0.999));
          return { lo, hi };
        }"""
    )
    assert delays["lo"] == [250, 500, 1000, 2000, 4000, 5000, 5000]
    assert delays["hi"] == [500, 1000, 1999, 3998, 7996, 9995, 9995]


EFFECTS = """async ([frames, you]) => {
  const { decodeFrame } = await import('/state.js');
  const { playEffects } = await import('/effects.js');
  const played = [], popups = [];
  let forgotten = 0, lastScore = 0;
  for (const bytes of frames) {
    lastScore = playEffects(decodeFrame(new Uint8Array(bytes).buffer), {
      you, lastScore, popups, sound: { play: (name) => played.push(name) },
      forgetDirection: () => forgotten++,
    });
  }
  return { played, popups: popups.map((p) => [p.x, p.y, p.text]), forgotten, lastScore };
}"""


def test_events_become_sounds_popups_and_a_fresh_direction(page: Page) -> None:
    full = (1 << N_PELLETS) - 1
    v1 = view_at(0, (player(0, 100), player(1, 50)), full)
    v2 = view_at(3, (player(0, 104, 10), player(1, 50)), full & ~1)  # you ate pellet 0
    v3 = view_at(6, (player(0, 108, 10), player(1, 54, 10)), full & ~0b11)  # a rival ate one
    ghost = Event(EventKind.GHOST_EATEN, 6, 0, 1, 0, 400)  # you ate Pinky (at 111, 116)
    fruit = Event(EventKind.FRUIT_EATEN, 6, 1, None, int(Fruit.CHERRIES), 100)
    lost = Event(EventKind.LIFE_LOST, 6, 0, None, 2, 0)
    rival_lost = Event(EventKind.LIFE_LOST, 6, 1, None, 2, 0)
    frames = [
        protocol.encode_keyframe(1, v1, N_PELLETS, []),
        protocol.encode_delta(2, v2, v1, []),
        protocol.encode_delta(3, v3, v2, [ghost, fruit, lost, rival_lost]),
    ]
    out = page.evaluate(EFFECTS, [[list(f or b"") for f in frames], 0])
    assert out["played"] == ["dot", "ghost", "fruit"]  # no chomp for the rival's pellet
    assert out["popups"] == [[111, 116, "400"], [111, 164, "100"]]
    assert out["forgotten"] == 1  # only your own lost life
    assert out["lastScore"] == 10
