// The arena scoreboard beside the game: colour, name, score and lives per seat.

import { PLAYER_COLORS } from "./render.js";

/** Re-renders only when something shown changed. */
export class Scoreboard {
  constructor(list) {
    this.list = list;
    this.shown = "";
  }

  update(roster, scores, you) {
    const rows = [...roster.values()].map((p) => {
      const s = scores.get(p.id) || { score: 0, lives: 0 };
      return { ...p, score: s.score, lives: s.lives };
    });
    rows.sort((a, b) => b.score - a.score || a.id - b.id);
    const sig = JSON.stringify([rows, you]);
    if (sig === this.shown) return;
    this.shown = sig;
    this.list.replaceChildren();
    for (const r of rows) {
      const li = document.createElement("li");
      if (r.id === you) li.className = "you";
      if (!r.connected) li.classList.add("away");
      const dot = document.createElement("span");
      dot.className = "swatch";
      dot.style.background = PLAYER_COLORS[r.id % PLAYER_COLORS.length];
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = r.connected ? r.name : `${r.name} (away)`;
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = String(r.score);
      const lives = document.createElement("span");
      lives.className = "lives";
      lives.textContent = "●".repeat(Math.min(r.lives, 5));
      li.append(dot, name, score, lives);
      this.list.append(li);
    }
  }
}
