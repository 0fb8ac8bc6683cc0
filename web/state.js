// Game state as the server describes it: binary frame decoding (protocol v1), pellets,
// scores and a short snapshot buffer for interpolated drawing. No game rules live here.

export const FRAME_KEY = 1;
export const FRAME_DELTA = 2;

export const Phase = Object.freeze({
  READY: 0, PLAYING: 1, GHOST_EATEN_FREEZE: 2, DYING: 3, LEVEL_CLEAR: 4, GAME_OVER: 5,
});
export const PlayerState = Object.freeze({ ALIVE: 0, DYING: 1, RESPAWNING: 2, OUT: 3 });
export const GhostLook = Object.freeze({
  NORMAL: 0, FRIGHTENED: 1, FLASHING: 2, EYES: 3, IN_HOUSE: 4,
});
export const EventKind = Object.freeze({
  GHOST_EATEN: 3, PLAYER_CAUGHT: 4, RIVAL_EATEN: 5, LIFE_LOST: 6, RESPAWNED: 7,
  FRUIT_APPEARED: 8, FRUIT_EATEN: 9, FRUIT_EXPIRED: 10, EXTRA_LIFE: 11,
  FRIGHT_STARTED: 12, FRIGHT_ENDED: 13, LEVEL_CLEARED: 14, LEVEL_STARTED: 15,
  PLAYER_OUT: 16, GAME_OVER: 17, PLAYER_JOINED: 18, PLAYER_LEFT: 19,
});

// Render this far behind the newest snapshot so there are two to lerp between.
export const INTERP_DELAY_MS = 100;
// An x jump wider than half the screen is a tunnel wrap: snap, never smear.
const WRAP_JUMP_PX = 112;
// Faster than anything moves in the arcade (eyes going home are the fastest, ~2 px/frame).
const MAX_PX_PER_FRAME = 3;
const KEEP_MS = 1000;

/** Decode one binary state frame (protocol v1, little-endian) into a plain object. */
export function decodeFrame(buffer) {
  const dv = new DataView(buffer);
  let o = 0;
  const kind = dv.getUint8(0);
  if (kind !== FRAME_KEY && kind !== FRAME_DELTA) throw new Error(`unknown frame kind ${kind}`);
  const flags = dv.getUint8(1);
  const frame = {
    kind,
    fright: (flags & 1) !== 0,
    seq: dv.getUint16(2, true),
    frame: dv.getUint32(4, true),
    level: dv.getUint8(8),
    phase: dv.getUint8(9),
    fruit: dv.getUint8(10),
    frightLeft: dv.getUint16(12, true),
    players: [],
    ghosts: [],
    pellets: null, // keyframe: Uint8Array bitmap
    eaten: [], // delta: pellet indices
    scores: [], // {id, score, lives}
    events: [],
  };
  const nPlayers = dv.getUint8(11);
  o = 14;
  for (let i = 0; i < nPlayers; i++, o += 4) {
    const bits = dv.getUint8(o + 3);
    frame.players.push({
      id: dv.getUint8(o),
      x: dv.getUint8(o + 1) - 16,
      y: dv.getUint8(o + 2) + 24,
      dir: bits & 3,
      state: (bits >> 2) & 3,
      powered: (bits & 16) !== 0,
      protected: (bits & 32) !== 0,
    });
  }
  const nGhosts = dv.getUint8(o++);
  for (let i = 0; i < nGhosts; i++, o += 3) {
    const bits = dv.getUint8(o + 2);
    frame.ghosts.push({
      id: i,
      x: dv.getUint8(o) - 16,
      y: dv.getUint8(o + 1) + 24,
      dir: bits & 3,
      look: (bits >> 2) & 7,
    });
  }
  if (kind === FRAME_KEY) {
    const nBytes = dv.getUint8(o++);
    frame.pellets = new Uint8Array(buffer.slice(o, o + nBytes));
    o += nBytes;
    for (const p of frame.players) {
      frame.scores.push({ id: p.id, score: dv.getUint32(o, true), lives: dv.getUint8(o + 4) });
      o += 5;
    }
  } else {
    const nEaten = dv.getUint8(o++);
    for (let i = 0; i < nEaten; i++, o += 2) frame.eaten.push(dv.getUint16(o, true));
    const nScores = dv.getUint8(o++);
    for (let i = 0; i < nScores; i++, o += 6) {
      frame.scores.push({
        id: dv.getUint8(o), score: dv.getUint32(o + 1, true), lives: dv.getUint8(o + 5),
      });
    }
  }
  const nEvents = dv.getUint8(o++);
  for (let i = 0; i < nEvents; i++, o += 7) {
    const player = dv.getUint8(o + 1);
    const other = dv.getUint8(o + 2);
    frame.events.push({
      kind: dv.getUint8(o),
      player: player === 255 ? null : player,
      other: other === 255 ? null : other,
      value: dv.getUint16(o + 3, true),
      points: dv.getUint16(o + 5, true),
    });
  }
  return frame;
}

/** The pellet list in protocol order: every `.` or `o`, rows top to bottom, left to right. */
export function pelletsOf(rows) {
  const list = [];
  rows.forEach((row, ty) => {
    for (let tx = 0; tx < row.length; tx++) {
      const c = row[tx];
      if (c === "." || c === "o") list.push({ tx, ty, energizer: c === "o" });
    }
  });
  return list;
}

function lerp(a, b, t) {
  return a + (b - a) * t;
}

/** One room's state: call `reset(maze)` on join, then `apply(frame)` for every state frame. */
export class GameState {
  constructor(tickHz = 60) {
    this.tickHz = tickHz;
    this.reset([]);
  }

  reset(maze) {
    this.maze = maze;
    this.pelletList = pelletsOf(maze);
    this.pellets = new Uint8Array(Math.ceil(this.pelletList.length / 8));
    this.scores = new Map(); // id -> {score, lives}
    this.snapshots = [];
    this.lastSeq = null;
    this.synced = false; // false until a keyframe: pellet and score deltas are skipped
    this.clockOffset = null;
    this.latest = null;
    this.framesSeen = 0;
  }

  pelletAt(i) {
    return (this.pellets[i >> 3] & (1 << (i & 7))) !== 0;
  }

  pelletsLeft() {
    let n = 0;
    for (let i = 0; i < this.pelletList.length; i++) if (this.pelletAt(i)) n++;
    return n;
  }

  /** Apply one decoded frame; returns true when a keyframe must be requested (seq gap). */
  apply(f, nowMs) {
    let needKeyframe = false;
    if (f.kind === FRAME_KEY) {
      this.pellets = new Uint8Array(this.pellets.length);
      this.pellets.set(f.pellets.subarray(0, this.pellets.length));
      this.scores = new Map(f.scores.map((s) => [s.id, { score: s.score, lives: s.lives }]));
      this.synced = true;
    } else {
      if (this.lastSeq === null || f.seq !== ((this.lastSeq + 1) & 0xffff)) {
        needKeyframe = this.lastSeq !== null;
        this.synced = false;
      }
      if (this.synced) {
        for (const i of f.eaten) this.pellets[i >> 3] &= ~(1 << (i & 7));
        for (const s of f.scores) this.scores.set(s.id, { score: s.score, lives: s.lives });
      }
    }
    this.lastSeq = f.seq;
    this.framesSeen++;
    this.push(f, nowMs);
    return needKeyframe;
  }

  push(f, nowMs) {
    const t = (f.frame * 1000) / this.tickHz;
    const last = this.snapshots[this.snapshots.length - 1];
    if (last && f.frame < last.frame) {
      // A new game restarted the frame counter: start the buffer over.
      this.snapshots = [];
      this.clockOffset = null;
    }
    const sample = nowMs - t;
    if (this.clockOffset === null || sample < this.clockOffset) this.clockOffset = sample;
    else this.clockOffset += (sample - this.clockOffset) * 0.02; // drift up slowly after a stall
    const snap = { ...f, t };
    this.snapshots.push(snap);
    this.latest = snap;
    while (this.snapshots.length > 2 && this.snapshots[1].t < t - KEEP_MS) this.snapshots.shift();
  }

  /** Actors interpolated for drawing at `nowMs`, plus the pellets still to draw. */
  view(nowMs) {
    const snaps = this.snapshots;
    if (snaps.length === 0) return null;
    const target = nowMs - this.clockOffset - INTERP_DELAY_MS;
    let a = snaps[0];
    let b = snaps[0];
    for (let i = 0; i < snaps.length; i++) {
      b = snaps[i];
      if (b.t > target) break;
      a = b;
    }
    const span = b.t - a.t;
    const alpha = span > 0 ? Math.min(1, Math.max(0, (target - a.t) / span)) : 1;
    const near = alpha < 0.5 ? a : b;
    // Anything further than an actor can travel between the two frames is a teleport
    // (respawn, level start, the tunnel): snap to it rather than slide across the maze.
    const reach = (b.frame - a.frame) * MAX_PX_PER_FRAME + 8;
    const players = b.players.map((pb) => {
      const pa = a.players.find((p) => p.id === pb.id);
      return this.mix(pa && pa.state === pb.state ? pa : null, pb, alpha, reach);
    });
    const ghosts = b.ghosts.map((gb, i) => this.mix(a.ghosts[i], gb, alpha, reach));
    // Pellets eaten in snapshots not yet on screen are still drawn, so dots vanish under
    // the Pac-Man that eats them rather than a tile ahead of it.
    const pending = new Set();
    for (const s of snaps) if (s.t > target) for (const i of s.eaten) pending.add(i);
    return {
      frame: near.frame,
      level: near.level,
      phase: near.phase,
      fruit: near.fruit,
      fright: near.fright,
      players,
      ghosts,
      pendingPellets: pending,
    };
  }

  mix(pa, pb, alpha, reach) {
    if (!pa) return { ...pb };
    const dx = Math.abs(pb.x - pa.x);
    const dy = Math.abs(pb.y - pa.y);
    const jump = dx > WRAP_JUMP_PX || dx + dy > reach;
    const base = alpha < 0.5 ? pa : pb;
    if (jump) return { ...base };
    return { ...base, x: lerp(pa.x, pb.x, alpha), y: lerp(pa.y, pb.y, alpha) };
  }
}
