// A tiny read-only hook for tests and the curious: `window.pacArena` hands out copies of what
// the client knows (the latest state frame, your seat, the room). Nothing in it can change the
// game; it exists so browser tests can read positions without scraping pixels.

import { PlayerState } from "./state.js";

/** Read-only hook for tests and curious players: copies of what the client knows. */
export function exposeDebugHook(app) {
  const snapshot = () => {
    const latest = app.gs.latest;
    const players = latest
      ? latest.players.map((p) => ({
          ...p,
          name: app.roster.get(p.id)?.name ?? null,
          score: app.gs.scores.get(p.id)?.score ?? 0,
          lives: app.gs.scores.get(p.id)?.lives ?? 0,
        }))
      : [];
    return {
      seq: latest ? latest.seq : null,
      frame: latest ? latest.frame : null,
      phase: latest ? latest.phase : null,
      level: latest ? latest.level : null,
      synced: app.gs.synced,
      framesSeen: app.gs.framesSeen,
      players,
      ghosts: latest ? latest.ghosts.map((g) => ({ ...g })) : [],
      pelletsLeft: app.gs.pelletsLeft(),
      roomState: app.roomState,
      alive: players.filter((p) => p.state === PlayerState.ALIVE).length,
    };
  };
  window.pacArena = Object.freeze({
    get state() {
      return snapshot();
    },
    get you() {
      return app.you;
    },
    get room() {
      return app.room;
    },
    get name() {
      return app.name;
    },
    get connected() {
      return Boolean(app.session) && app.conn.open;
    },
    get wsUrl() {
      return app.conn.url;
    },
    get bytesIn() {
      return app.conn.bytesIn;
    },
  });
}
