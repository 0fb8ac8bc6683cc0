// Wiring: the one place that owns app state. It connects the socket, the lobby, the chat,
// input and the renderer, and runs the requestAnimationFrame loop.

import { ChatPanel } from "./chat.js";
import { loadConfig } from "./config.js";
import { exposeDebugHook } from "./debug.js";
import { playEffects } from "./effects.js";
import { Input } from "./input.js";
import { Lobby, defaultName, rememberName, storedName } from "./lobby.js";
import { Leaderboard, apiBase } from "./leaderboard.js";
import { Connection } from "./net.js";
import { Renderer } from "./render.js";
import { Scoreboard } from "./scoreboard.js";
import { Sound } from "./sound.js";
import { GameState, decodeFrame } from "./state.js";

const TOKEN_KEY = "pacArena.token";
// After a hello with a token, wait this long for the seat to come back before acting.
const RESUME_WAIT_MS = 700;
const KEYFRAME_RETRY_MS = 1000;

const $ = (sel) => document.querySelector(sel);

const app = {
  conn: null,
  requestedName: "",
  name: "",
  session: null,
  tickHz: 60,
  sendHz: 20,
  room: null,
  mode: null,
  link: null,
  you: null,
  roomState: null,
  countdown: null,
  roster: new Map(),
  spectators: 0,
  gameOver: null,
  gs: new GameState(),
  popups: [],
  pending: null, // a lobby action to run once welcomed
  deepLink: new URLSearchParams(location.search).get("room"),
  watchLink: new URLSearchParams(location.search).has("watch"),
  resumeTimer: null,
  lastKeyframeAsk: 0,
  latency: null,
  connState: "connecting",
  fatalText: "",
  lastScore: 0,
};

function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // No storage: reloads simply do not resume.
  }
}

// ---- UI pieces -------------------------------------------------------------------------

const renderer = new Renderer($("#screen"));
const scoreboard = new Scoreboard($("#score-list"));
const sound = new Sound();
const chat = new ChatPanel({
  log: $("#chat-log"),
  form: $("#chat-form"),
  input: $("#chat-input"),
  title: $("#chat-title"),
  onSend: (channel, text) => {
    if (!app.conn || !app.conn.chat(channel, text)) {
      chat.notice("Not connected: the line was not sent.");
      return false;
    }
    return true;
  },
});
const lobby = new Lobby($("#lobby"), {
  quickPlay: () => act(() => app.conn.quickPlay("arena")),
  create: (mode, priv) => act(() => app.conn.create(mode, priv)),
  join: (code, spectate) => act(() => app.conn.join(code, spectate)),
});
const input = new Input({
  surface: $("#stage"),
  pad: $("#pad"),
  enabled: () => app.room !== null && app.you !== null,
  onDir: (dir) => app.conn && app.conn.input(dir),
});

/** Run a lobby action, reconnecting first when the typed name differs from the session's. */
function act(action) {
  const { name, error } = lobby.readName();
  if (error) return lobby.say(error);
  lobby.say("");
  rememberName(name);
  if (app.conn.open && app.session && name === app.requestedName) return action();
  app.pending = action;
  app.conn.reconnectNow();
}

function showGame(inRoom) {
  $("#lobby").hidden = inRoom;
  $("#game").hidden = !inRoom;
  $("#scores").hidden = !inRoom;
  chat.show(inRoom ? "room" : "lobby");
  if (inRoom) fitCanvas();
}

function fitCanvas() {
  const stage = $("#stage");
  const top = stage.getBoundingClientRect().top + window.scrollY;
  const padRoom = matchMedia("(pointer: coarse)").matches ? 200 : 16;
  const h = Math.max(240, window.innerHeight - top - padRoom);
  renderer.fit(stage.clientWidth, h);
}

function updateGameBar() {
  $("#room-code").textContent = app.room || "";
  const watching = app.you === null ? " · spectating" : "";
  $("#room-mode").textContent = app.mode ? `· ${app.mode}${watching}` : "";
  $("#start").hidden = !(app.you !== null && app.roomState === "waiting");
  $("#spectators").textContent = app.spectators ? `${app.spectators} watching` : "";
}

function setStatus(state, text) {
  app.connState = state;
  const el = $("#status");
  el.dataset.state = state;
  el.textContent = text;
}

function showBanner(text) {
  const el = $("#banner");
  el.textContent = text || "";
  el.hidden = !text;
}

// ---- server messages -------------------------------------------------------------------

function proceedAfterWelcome() {
  app.resumeTimer = null;
  const action = app.pending;
  app.pending = null;
  if (app.room) {
    // We were in a room and the server did not give the seat back (grace over, a spectator,
    // or a restarted server): try the room again as a newcomer.
    const code = app.room;
    const spectate = app.you === null;
    leaveRoomLocally();
    if (!action) {
      lobby.say(spectate ? "" : "Your seat was not held any more: joining the room again.");
      app.conn.join(code, spectate);
      return;
    }
  }
  if (action) action();
  else if (app.deepLink) app.conn.join(app.deepLink.toUpperCase(), app.watchLink);
}

function leaveRoomLocally() {
  app.room = null;
  app.you = null;
  app.roomState = null;
  app.gameOver = null;
  app.roster = new Map();
  app.gs.reset([]);
  setToken(null);
  chat.clear("room");
  history.replaceState(null, "", location.pathname);
  showGame(false);
}

const handlers = {
  status(state, info) {
    if (state === "open") {
      setStatus("connecting", "saying hello…");
      const name = lobby.readName().name || defaultName();
      app.requestedName = name;
      app.sentToken = getToken();
      app.conn.hello(name, app.sentToken);
    } else if (state === "connecting") {
      setStatus("connecting", info.attempt ? "reconnecting…" : "connecting…");
    } else if (state === "waiting") {
      app.session = null;
      const secs = Math.max(1, Math.round(info.delay / 1000));
      setStatus("waiting", "offline");
      showBanner(`Connection lost. Reconnecting in ${secs} s (attempt ${info.attempt})…`);
    } else if (state === "fatal") {
      app.session = null;
      setStatus("fatal", "disconnected");
      showBanner(app.fatalText || "This page is out of date: reload it to play.");
    }
  },

  welcome(msg) {
    app.session = msg.session;
    app.name = msg.name;
    app.tickHz = msg.tick_hz || 60;
    app.sendHz = msg.send_hz || 20;
    app.gs.tickHz = app.tickHz;
    rememberName(msg.name);
    lobby.name = msg.name;
    setStatus("open", `online as ${msg.name}`);
    showBanner("");
    clearTimeout(app.resumeTimer);
    if (app.sentToken) app.resumeTimer = setTimeout(proceedAfterWelcome, RESUME_WAIT_MS);
    else proceedAfterWelcome();
  },

  rooms(msg) {
    lobby.rooms(msg.rooms || []);
  },

  joined(msg) {
    clearTimeout(app.resumeTimer);
    app.resumeTimer = null;
    app.pending = null;
    app.deepLink = null;
    app.room = msg.room;
    app.mode = msg.mode;
    app.you = msg.you;
    app.link = msg.link;
    app.roomState = msg.state;
    app.gameOver = null;
    app.popups = [];
    setToken(msg.token);
    app.gs.reset(msg.maze || []);
    app.gs.tickHz = app.tickHz;
    input.reset();
    const link = msg.link || `/?room=${msg.room}`;
    // A spectator's reload should watch again, not take a seat.
    history.replaceState(null, "", msg.you === null ? `${link}&watch=1` : link);
    showGame(true);
    updateGameBar();
  },

  roster(msg) {
    app.roster = new Map(msg.players.map((p) => [p.id, p]));
    app.spectators = msg.spectators || 0;
    updateGameBar();
  },

  room_state(msg) {
    if (msg.state === "playing" && app.roomState !== "playing") sound.play("start");
    if (msg.state !== "over") app.gameOver = null;
    if (msg.state !== app.roomState) input.reset(); // a new game forgets the last direction
    app.roomState = msg.state;
    app.countdown = msg.countdown ?? null;
    updateGameBar();
  },

  game_over(msg) {
    app.gameOver = msg;
    app.roomState = "over";
    sound.play("over");
    updateGameBar();
  },

  chat(msg) {
    chat.add(msg);
  },

  history(msg) {
    chat.history(msg.channel, (msg.lines || []).map((l) => ({ ...l, channel: msg.channel })));
  },

  left() {
    leaveRoomLocally();
  },

  reconnect() {
    setStatus("connecting", "moving to another server…");
    app.conn.reconnectNow();
  },

  pong(msg) {
    app.latency = Math.round(performance.now() - msg.t);
    if (app.session) setStatus("open", `online as ${app.name} · ${app.latency} ms`);
  },

  error(msg) {
    const text = msg.message || msg.code;
    switch (msg.code) {
      case "chat_rate_limited":
      case "chat_invalid":
        return chat.notice(text);
      case "version":
        // The close (4000) follows; keep this explanation on the banner.
        app.fatalText = text;
        return showBanner(text);
      case "room_not_found":
      case "room_full":
      case "rooms_full":
      case "name_invalid":
      case "server_full":
        if (app.deepLink) app.deepLink = null;
        showGame(app.room !== null);
        return lobby.say(text);
      default:
        if (app.room) chat.notice(text);
        else lobby.say(text);
    }
  },

  state(buffer) {
    if (!app.room) return;
    let f;
    try {
      f = decodeFrame(buffer);
    } catch {
      return askKeyframe();
    }
    if (app.gs.apply(f, performance.now())) askKeyframe();
    app.lastScore = playEffects(f, {
      you: app.you,
      lastScore: app.lastScore,
      popups: app.popups,
      sound,
      forgetDirection: () => input.reset(),
    });
    scoreboard.update(app.roster, app.gs.scores, app.you);
  },
};

function askKeyframe() {
  app.lastKeyframeAsk = performance.now();
  app.conn.keyframe();
}


// ---- loops -----------------------------------------------------------------------------

function frame() {
  requestAnimationFrame(frame);
  if (!app.room) return;
  const now = performance.now();
  app.popups = app.popups.filter((p) => p.until > now);
  if (!app.gs.synced && app.gs.framesSeen > 0 && now - app.lastKeyframeAsk > KEYFRAME_RETRY_MS) {
    askKeyframe();
  }
  renderer.draw({
    now,
    maze: app.gs.maze,
    pelletList: app.gs.pelletList,
    pelletAt: (i) => app.gs.pelletAt(i),
    view: app.gs.view(now),
    scores: app.gs.scores,
    roster: app.roster,
    you: app.you,
    room: app.room,
    roomState: app.roomState,
    countdown: app.countdown,
    gameOver: app.gameOver,
    popups: app.popups,
  });
}

async function main() {
  lobby.name = storedName() || defaultName();
  if (app.deepLink) lobby.code = app.deepLink.toUpperCase();
  const config = await loadConfig();
  app.conn = new Connection(config.wsUrl, handlers);
  new Leaderboard($("#leaderboard"), apiBase(config.wsUrl)).start();
  exposeDebugHook(app);
  $("#leave").addEventListener("click", () => app.conn.leave());
  $("#start").addEventListener("click", () => app.conn.start());
  $("#copy-link").addEventListener("click", async () => {
    const url = `${location.origin}${app.link || `/?room=${app.room}`}`;
    try {
      await navigator.clipboard.writeText(url);
      chat.notice(`Link copied: ${url}`);
    } catch {
      chat.notice(`Share this link: ${url}`);
    }
  });
  $("#sound").addEventListener("click", (ev) => {
    sound.setEnabled(!sound.enabled);
    ev.currentTarget.textContent = `Sound: ${sound.enabled ? "on" : "off"}`;
    ev.currentTarget.setAttribute("aria-pressed", String(sound.enabled));
  });
  window.addEventListener("resize", () => app.room && fitCanvas());
  // Latency for the status line, and proof of life for the connection's stall watchdog. In a
  // room the 20 Hz state frames already prove it, so ping rarely there: every inbound
  // message costs the server more than sending does.
  let lastPing = 0;
  setInterval(() => {
    const now = performance.now();
    if (!app.session || (app.room && now - lastPing < 10000)) return;
    lastPing = now;
    app.conn.ping(now);
  }, 2000);
  app.conn.connect();
  requestAnimationFrame(frame);
}

main();
