// What a state frame's events mean to this player beyond the picture: sounds, score popups,
// and when to forget the last direction sent. Pure reaction to server events, no game rules.

import { EventKind } from "./state.js";

const POPUP_MS = 1000;
const FRUIT_X = 111;
const FRUIT_Y = 164;

/**
 * React to one decoded frame; returns your score as of this frame (for the next call).
 *
 * `ctx` holds `you`, `lastScore`, `popups` (pushed to), `sound` and `forgetDirection()`.
 */
export function playEffects(f, ctx) {
  const { you, popups, sound } = ctx;
  // Chomp only for your own pellets: eight Pac-Men chomping at once is noise.
  const myScore = you === null ? undefined : f.scores.find((s) => s.id === you);
  if (f.eaten.length && myScore && myScore.score > ctx.lastScore) sound.play("dot");
  const now = performance.now();
  const popup = (x, y, points) => {
    popups.push({ x, y, text: String(points), until: now + POPUP_MS });
  };
  for (const e of f.events) {
    const mine = you !== null && e.player === you;
    switch (e.kind) {
      case EventKind.GHOST_EATEN: {
        const g = f.ghosts[e.other];
        if (g) popup(g.x, g.y, e.points);
        sound.play("ghost");
        break;
      }
      case EventKind.RIVAL_EATEN: {
        const p = f.players.find((q) => q.id === e.other);
        if (p) popup(p.x, p.y, e.points);
        sound.play("ghost");
        break;
      }
      case EventKind.FRUIT_EATEN:
        popup(FRUIT_X, FRUIT_Y, e.points);
        sound.play("fruit");
        break;
      case EventKind.FRIGHT_STARTED:
        sound.play("energizer");
        break;
      case EventKind.EXTRA_LIFE:
        if (mine) sound.play("life");
        break;
      case EventKind.PLAYER_CAUGHT:
        if (mine) sound.play("death");
        break;
      case EventKind.LIFE_LOST:
      case EventKind.RESPAWNED:
        // The server may have dropped the wanted direction: let the next press go out.
        if (mine) ctx.forgetDirection();
        break;
      case EventKind.LEVEL_STARTED:
        ctx.forgetDirection();
        break;
      default:
        break;
    }
  }
  return myScore ? myScore.score : ctx.lastScore;
}
