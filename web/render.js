// Drawing only: the maze (cached offscreen), pellets, fruit, ghosts, Pac-Men, HUD and
// overlays, on the arcade's 224x288 screen scaled to fit a HiDPI canvas.

import { GhostLook, Phase, PlayerState } from "./state.js";

export const SCREEN_W = 224;
export const SCREEN_H = 288;
export const PLAYER_COLORS = [
  "#ffe600", "#3be03b", "#ff5cd6", "#3fd0ff", "#ff9a1f", "#a77bff", "#f2f2f2", "#ff5050",
];
const GHOST_COLORS = ["#ff0000", "#ffb8ff", "#00ffff", "#ffb852"];
const WALL = "#2121de";
const DOT = "#ffb8ae";
const FONT = '"Courier New", ui-monospace, monospace';
// Actor positions are centre pixels (8*tx + 3, 8*ty + 4); tiles are drawn centred at +4.
const ACTOR_DX = 1;
const DIR_ANGLE = [0, Math.PI / 2, Math.PI, -Math.PI / 2];
const DIR_VEC = [[1, 0], [0, 1], [-1, 0], [0, -1]];
// The bonus fruit symbol shown for levels 1..13+ (cherries .. key), as in the arcade HUD.
const LEVEL_FRUIT = [1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8];

function isWall(rows, tx, ty) {
  if (ty < 0 || ty >= rows.length || tx < 0 || tx >= rows[ty].length) return true;
  const c = rows[ty][tx];
  return c === "#" || c === "_";
}

/** Paint the maze walls once into `ctx` (already scaled to screen pixels). */
function paintMaze(ctx, rows, color) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.25;
  ctx.lineCap = "round";
  ctx.beginPath();
  const seg = (x0, y0, x1, y1) => {
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
  };
  for (let ty = 0; ty < rows.length; ty++) {
    for (let tx = 0; tx < rows[ty].length; tx++) {
      const c = rows[ty][tx];
      if (c === "=") {
        ctx.save();
        ctx.fillStyle = "#ffb8de";
        ctx.fillRect(tx * 8, ty * 8 + 5, 8, 2);
        ctx.restore();
        continue;
      }
      if (c !== "#") continue;
      const x = tx * 8;
      const y = ty * 8;
      const openUp = !isWall(rows, tx, ty - 1);
      const openDown = !isWall(rows, tx, ty + 1);
      const openLeft = !isWall(rows, tx - 1, ty);
      const openRight = !isWall(rows, tx + 1, ty);
      // Outlines sit 2 px inside the wall tile, so corridors keep their width.
      if (openUp) seg(openLeft ? x + 2 : x, y + 2, openRight ? x + 6 : x + 8, y + 2);
      if (openDown) seg(openLeft ? x + 2 : x, y + 6, openRight ? x + 6 : x + 8, y + 6);
      if (openLeft) seg(x + 2, openUp ? y + 2 : y, x + 2, openDown ? y + 6 : y + 8);
      if (openRight) seg(x + 6, openUp ? y + 2 : y, x + 6, openDown ? y + 6 : y + 8);
      // Inner corners: both neighbours are wall but the diagonal is open.
      const diag = [
        [-1, -1, x, y + 2, x + 2, y + 2, x + 2, y],
        [1, -1, x + 8, y + 2, x + 6, y + 2, x + 6, y],
        [-1, 1, x, y + 6, x + 2, y + 6, x + 2, y + 8],
        [1, 1, x + 8, y + 6, x + 6, y + 6, x + 6, y + 8],
      ];
      for (const [dx, dy, ax, ay, bx, by, cx, cy] of diag) {
        const corner = isWall(rows, tx + dx, ty) && isWall(rows, tx, ty + dy);
        if (corner && !isWall(rows, tx + dx, ty + dy)) {
          ctx.moveTo(ax, ay);
          ctx.quadraticCurveTo(bx, by, cx, cy);
        }
      }
    }
  }
  ctx.stroke();
}

/** Draws one frame of the game from a scene object built by main.js. */
export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.k = 1;
    this.cache = null; // {rows, k, blue, white}
    this.dyingSince = new Map();
  }

  /** Size the canvas to fit `w` x `h` CSS pixels, sharp on HiDPI screens. */
  fit(w, h) {
    const scale = Math.max(0.5, Math.min(w / SCREEN_W, h / SCREEN_H));
    const cssW = Math.floor(SCREEN_W * scale);
    const cssH = Math.floor(SCREEN_H * scale);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${cssH}px`;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    this.k = this.canvas.width / SCREEN_W;
    this.cache = null;
  }

  mazeCanvas(rows, color) {
    if (!this.cache || this.cache.rows !== rows || this.cache.k !== this.k) {
      const make = (c) => {
        const off = document.createElement("canvas");
        off.width = this.canvas.width;
        off.height = this.canvas.height;
        const octx = off.getContext("2d");
        octx.setTransform(this.k, 0, 0, this.k, 0, 0);
        paintMaze(octx, rows, c);
        return off;
      };
      this.cache = { rows, k: this.k, blue: make(WALL), white: make("#ffffff") };
    }
    return color === "white" ? this.cache.white : this.cache.blue;
  }

  draw(scene) {
    const { ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!scene.maze || scene.maze.length === 0) return;
    const v = scene.view;
    const flash = v && v.phase === Phase.LEVEL_CLEAR && Math.floor(scene.now / 250) % 2 === 1;
    ctx.drawImage(this.mazeCanvas(scene.maze, flash ? "white" : "blue"), 0, 0);
    ctx.setTransform(this.k, 0, 0, this.k, 0, 0);
    this.drawPellets(scene);
    if (v) {
      if (v.fruit) drawFruit(ctx, v.fruit, 112, 164);
      // Classic death: the arcade clears the ghosts while Pac-Man shrivels.
      if (v.phase !== Phase.DYING) for (const g of v.ghosts) this.drawGhost(g, scene.now);
      for (const p of v.players) this.drawPlayer(p, scene);
    }
    for (const pop of scene.popups) this.text(pop.text, pop.x + ACTOR_DX, pop.y, "#00ffff", 6);
    this.drawHud(scene);
    this.drawOverlay(scene);
  }

  drawPellets(scene) {
    const { ctx } = this;
    const blinkOn = Math.floor(scene.now / 200) % 2 === 0;
    const pending = scene.view ? scene.view.pendingPellets : new Set();
    ctx.fillStyle = DOT;
    scene.pelletList.forEach((p, i) => {
      if (!scene.pelletAt(i) && !pending.has(i)) return;
      const cx = p.tx * 8 + 4;
      const cy = p.ty * 8 + 4;
      if (p.energizer) {
        if (!blinkOn) return;
        ctx.beginPath();
        ctx.arc(cx, cy, 3.5, 0, Math.PI * 2);
        ctx.fill();
      } else {
        ctx.fillRect(cx - 1, cy - 1, 2, 2);
      }
    });
  }

  drawPlayer(p, scene) {
    const { ctx } = this;
    if (p.state === PlayerState.OUT || p.state === PlayerState.RESPAWNING) {
      this.dyingSince.delete(p.id);
      return;
    }
    if (p.protected && Math.floor(scene.now / 120) % 2 === 0) return; // blinking spawn shield
    const cx = p.x + ACTOR_DX;
    const cy = p.y;
    const color = PLAYER_COLORS[p.id % PLAYER_COLORS.length];
    let mouth;
    let angle = DIR_ANGLE[p.dir];
    if (p.state === PlayerState.DYING) {
      if (!this.dyingSince.has(p.id)) this.dyingSince.set(p.id, scene.now);
      const t = Math.min(1, (scene.now - this.dyingSince.get(p.id)) / 1200);
      mouth = 0.2 + t * (Math.PI - 0.2);
      angle = -Math.PI / 2;
    } else {
      this.dyingSince.delete(p.id);
      const phase = ((Math.round(p.x) + Math.round(p.y)) & 7) / 8;
      mouth = Math.abs(phase * 2 - 1) * 0.85 + 0.05;
    }
    if (p.powered) {
      ctx.fillStyle = "rgba(255,255,255,0.18)";
      ctx.beginPath();
      ctx.arc(cx, cy, 9, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(cx, cy);
    ctx.arc(cx, cy, 6.5, angle + mouth, angle - mouth + Math.PI * 2);
    ctx.closePath();
    ctx.fill();
    if (p.id === scene.you) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 0.6;
      ctx.beginPath();
      ctx.arc(cx, cy, 7.6, 0, Math.PI * 2);
      ctx.stroke();
    }
    const who = scene.roster.get(p.id);
    if (who) this.text(who.name, cx, cy - 10, color, 5);
  }

  drawGhost(g, now) {
    const { ctx } = this;
    const cx = g.x + ACTOR_DX;
    const cy = g.y;
    const [vx, vy] = DIR_VEC[g.dir];
    if (g.look !== GhostLook.EYES) {
      let body = GHOST_COLORS[g.id % 4];
      if (g.look === GhostLook.FRIGHTENED) body = "#2121ff";
      if (g.look === GhostLook.FLASHING) body = "#f4f4f4";
      ctx.fillStyle = body;
      ctx.beginPath();
      ctx.arc(cx, cy - 1, 6.5, Math.PI, 0);
      ctx.lineTo(cx + 6.5, cy + 6);
      const wave = Math.floor(now / 150) % 2;
      const feet = 3;
      for (let i = 0; i < feet; i++) {
        const x0 = cx + 6.5 - (13 / feet) * i;
        const x1 = x0 - 13 / feet;
        ctx.lineTo((x0 + x1) / 2, cy + (wave ? 3.5 : 4.5));
        ctx.lineTo(x1, cy + 6);
      }
      ctx.closePath();
      ctx.fill();
      if (g.look === GhostLook.FRIGHTENED || g.look === GhostLook.FLASHING) {
        const face = g.look === GhostLook.FLASHING ? "#ff0000" : "#ffb8ae";
        ctx.fillStyle = face;
        ctx.fillRect(cx - 3, cy - 3, 2, 2);
        ctx.fillRect(cx + 1, cy - 3, 2, 2);
        ctx.strokeStyle = face;
        ctx.lineWidth = 0.8;
        ctx.beginPath();
        ctx.moveTo(cx - 4.5, cy + 2.5);
        for (let i = 0; i < 6; i++) ctx.lineTo(cx - 3 + i * 1.5, cy + (i % 2 ? 2.5 : 1.5));
        ctx.stroke();
        return;
      }
    }
    for (const ex of [-2.5, 2.5]) {
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.ellipse(cx + ex + vx * 0.8, cy - 2 + vy * 0.8, 2, 2.6, 0, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = "#2121de";
      ctx.beginPath();
      ctx.arc(cx + ex + vx * 1.8, cy - 2 + vy * 1.8, 1.2, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  text(str, x, y, color, size, align = "center") {
    const { ctx } = this;
    ctx.font = `bold ${size}px ${FONT}`;
    ctx.textAlign = align;
    ctx.textBaseline = "middle";
    // A dark rim keeps labels readable over walls and sprites.
    ctx.strokeStyle = "rgba(0,0,0,0.85)";
    ctx.lineWidth = Math.max(1, size / 4);
    ctx.lineJoin = "round";
    ctx.strokeText(str, x, y);
    ctx.fillStyle = color;
    ctx.fillText(str, x, y);
  }

  drawHud(scene) {
    const v = scene.view;
    const mine = scene.you !== null ? scene.scores.get(scene.you) : null;
    if (scene.you !== null) {
      this.text("SCORE", 8, 5, "#fff", 7, "left");
      this.text(String(mine ? mine.score : 0).padStart(6, " "), 8, 14, "#fff", 8, "left");
    } else {
      this.text("SPECTATING", 8, 9, "#00ffff", 7, "left");
    }
    this.text(`LEVEL ${v ? v.level : 1}`, 112, 5, "#fff", 7);
    if (scene.room) this.text(`ROOM ${scene.room}`, 112, 14, "#ffb8ff", 6);
    let best = 0;
    for (const s of scene.scores.values()) best = Math.max(best, s.score);
    this.text("HIGH", 216, 5, "#fff", 7, "right");
    this.text(String(best), 216, 14, "#fff", 8, "right");
    if (mine) {
      const color = PLAYER_COLORS[scene.you % PLAYER_COLORS.length];
      for (let i = 0; i < Math.min(mine.lives, 6); i++) {
        this.ctx.fillStyle = color;
        this.ctx.beginPath();
        this.ctx.moveTo(20 + i * 14, 280);
        this.ctx.arc(20 + i * 14, 280, 5, Math.PI + 0.6, Math.PI - 0.6 + Math.PI * 2);
        this.ctx.closePath();
        this.ctx.fill();
      }
    }
    if (v && v.level) drawFruit(this.ctx, LEVEL_FRUIT[Math.min(v.level, 13) - 1], 204, 280);
  }

  banner(lines, color = "#ffe600") {
    const { ctx } = this;
    const h = 14 + lines.length * 11;
    ctx.fillStyle = "rgba(0,0,0,0.78)";
    ctx.fillRect(16, 144 - h / 2, 192, h);
    ctx.strokeStyle = WALL;
    ctx.lineWidth = 1;
    ctx.strokeRect(16.5, 144.5 - h / 2, 191, h - 1);
    lines.forEach((line, i) => {
      const [str, c, size] = Array.isArray(line) ? line : [line, color, 8];
      this.text(str, 112, 144 - h / 2 + 12 + i * 11, c, size);
    });
  }

  drawOverlay(scene) {
    const v = scene.view;
    const me = v && scene.you !== null ? v.players.find((p) => p.id === scene.you) : null;
    if (scene.roomState === "over" || (v && v.phase === Phase.GAME_OVER)) {
      const lines = [["GAME OVER", "#ff3030", 10]];
      const over = scene.gameOver;
      if (over) {
        const win = over.scores.find((s) => s.id === over.winner);
        if (win) lines.push([`${win.name} WINS`, "#ffe600", 8]);
        for (const s of over.scores.slice(0, 8)) {
          lines.push([`${s.name.slice(0, 12).padEnd(12, " ")} ${String(s.score).padStart(6)}`,
            PLAYER_COLORS[s.id % PLAYER_COLORS.length], 7]);
        }
      }
      this.banner(lines);
      return;
    }
    if (scene.roomState === "waiting") {
      this.banner([
        ["WAITING FOR PLAYERS", "#ffe600", 8],
        [`share /?room=${scene.room}`, "#ffb8ff", 6],
        ["press START to play now", "#fff", 6],
      ]);
      return;
    }
    if (scene.roomState === "countdown") {
      this.banner([["GET READY", "#ffe600", 8], [String(scene.countdown ?? ""), "#fff", 16]]);
      return;
    }
    if (v && v.phase === Phase.READY) this.text("READY!", 112, 164, "#ffe600", 8);
    if (me && me.state === PlayerState.OUT) {
      // A line, not a banner: an eliminated player keeps watching the others play.
      this.text("YOU'RE OUT - WATCHING", 112, 164, "#ff3030", 7);
    } else if (me && (me.state === PlayerState.DYING || me.state === PlayerState.RESPAWNING)) {
      const what = me.state === PlayerState.DYING ? "CAUGHT!" : "RESPAWNING...";
      this.text(what, 112, 164, "#ff3030", 8);
    }
  }
}

const FRUIT_COLORS = [null, "#ff0000", "#ff2a2a", "#ffb852", "#ff1a1a", "#3be03b", "#ffe600",
  "#ffe600", "#3fd0ff"];

/** A small fruit icon centred on (x, y). */
export function drawFruit(ctx, kind, x, y) {
  const color = FRUIT_COLORS[kind] || "#fff";
  ctx.save();
  if (kind === 1) {
    ctx.strokeStyle = "#b5651d";
    ctx.lineWidth = 0.8;
    ctx.beginPath();
    ctx.moveTo(x - 3, y + 1);
    ctx.quadraticCurveTo(x, y - 6, x + 4, y - 5);
    ctx.moveTo(x + 2, y + 2);
    ctx.quadraticCurveTo(x + 2, y - 3, x + 4, y - 5);
    ctx.stroke();
    ctx.fillStyle = color;
    for (const [dx, dy] of [[-3, 2], [2, 3]]) {
      ctx.beginPath();
      ctx.arc(x + dx, y + dy, 2.6, 0, Math.PI * 2);
      ctx.fill();
    }
  } else if (kind === 7) {
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x - 5, y + 4);
    ctx.quadraticCurveTo(x - 4, y - 6, x, y - 6);
    ctx.quadraticCurveTo(x + 4, y - 6, x + 5, y + 4);
    ctx.closePath();
    ctx.fill();
  } else if (kind === 8) {
    ctx.fillStyle = color;
    ctx.fillRect(x - 3, y - 6, 6, 4);
    ctx.fillStyle = "#fff";
    ctx.fillRect(x - 0.5, y - 2, 1.5, 8);
  } else {
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y + 1, 4.5, 0, Math.PI * 2);
    ctx.fill();
    ctx.fillStyle = "#3be03b";
    ctx.fillRect(x - 1, y - 5, 3, 2);
  }
  ctx.restore();
}
