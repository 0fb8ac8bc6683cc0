// The socket to the server: connect, reconnect with backoff, dispatch by message type,
// and one send helper per client message of protocol v1 (docs/protocol.md).

export const PROTOCOL_VERSION = 1;
export const DIRS = Object.freeze({ right: 0, down: 1, left: 2, up: 3 });
const DIR_NAMES = ["right", "down", "left", "up"];
const INTENT_TAG = 0x10;

// A live server is never this quiet (state frames at 20 Hz in a room, pongs every 2 s in the
// lobby): the link is dead even if the socket has not noticed (a phone changing networks).
const STALL_MS = 6000;
// A handshake still pending after this long is abandoned and retried with backoff.
const CONNECT_TIMEOUT_MS = 8000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10000;
// Close codes after which retrying cannot help.
const FATAL_CLOSE = new Set([4000]);

/** Exponential backoff with jitter: half the step fixed, half random. */
export function backoffDelay(attempt, random = Math.random) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * One websocket session that keeps itself connected.
 *
 * `handlers` maps a message `type` to a function; binary frames go to `handlers.state`,
 * and `handlers.status(status, info)` hears "connecting", "open", "waiting", "closed"
 * and "fatal". `hello()` is sent by the owner from the "open" status.
 */
export class Connection {
  constructor(url, handlers, { stallMs = STALL_MS } = {}) {
    this.url = url;
    this.handlers = handlers;
    this.stallMs = stallMs;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.openTimer = null;
    this.watchdog = null;
    this.lastHeard = 0;
    this.stopped = false;
    this.bytesIn = 0;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    this.stopped = false;
    this.status("connecting", { attempt: this.attempt });
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    clearTimeout(this.openTimer);
    this.openTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState !== WebSocket.CONNECTING) return;
      this.ws = null;
      ws.close();
      this.closed(1006, "connecting took too long");
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(this.openTimer);
      if (this.ws !== ws) return;
      this.lastHeard = performance.now();
      clearInterval(this.watchdog);
      this.watchdog = setInterval(() => this.checkStall(ws), 1000);
      this.status("open");
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.dispatch(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.closed(ev.code, ev.reason);
    };
  }

  /** Give up on a socket that has gone silent; the usual backoff then reconnects. */
  checkStall(ws) {
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    if (document.hidden) {
      // Hidden tabs get their timers (and so our pings) throttled: silence proves nothing.
      this.lastHeard = performance.now();
      return;
    }
    if (performance.now() - this.lastHeard < this.stallMs) return;
    this.ws = null;
    ws.close(4001, "no data from the server");
    this.closed(1006, "no data from the server");
  }

  /** Close and connect again at once (new name, or the server asked us to move). */
  reconnectNow() {
    this.attempt = 0;
    clearInterval(this.watchdog);
    const old = this.ws;
    this.ws = null;
    if (old) old.close(1000);
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  closed(code, reason) {
    clearInterval(this.watchdog);
    if (this.stopped) return this.status("closed", { code, reason });
    if (FATAL_CLOSE.has(code)) return this.status("fatal", { code, reason });
    const delay = backoffDelay(this.attempt++);
    this.status("waiting", { code, reason, delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  status(name, info = {}) {
    if (this.handlers.status) this.handlers.status(name, info);
  }

  dispatch(data) {
    this.lastHeard = performance.now();
    if (typeof data !== "string") {
      this.bytesIn += data.byteLength;
      if (this.handlers.state) this.handlers.state(data);
      return;
    }
    this.bytesIn += data.length;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    // Only a welcome proves the server will have us: a socket that opens and is closed at
    // once (server full, a policy close) keeps backing off.
    if (msg.type === "welcome") this.attempt = 0;
    const handler = this.handlers[msg.type];
    if (handler && msg.type !== "state" && msg.type !== "status") handler(msg);
  }

  sendJson(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // One helper per client message.
  hello(name, token) {
    const msg = { type: "hello", v: PROTOCOL_VERSION, name };
    if (token) msg.token = token;
    return this.sendJson(msg);
  }

  quickPlay(mode = "arena") {
    return this.sendJson({ type: "quick_play", mode });
  }

  create(mode, isPrivate) {
    return this.sendJson({ type: "create", mode, private: Boolean(isPrivate) });
  }

  join(room, spectate = false) {
    const msg = { type: "join", room };
    if (spectate) msg.spectate = true;
    return this.sendJson(msg);
  }

  leave() {
    return this.sendJson({ type: "leave" });
  }

  start() {
    return this.sendJson({ type: "start" });
  }

  /** The wanted direction as the 2-byte binary intent; `dir` is 0-3 or a direction name. */
  input(dir) {
    const d = typeof dir === "string" ? DIRS[dir] : dir;
    if (!this.open || d === undefined) return false;
    this.ws.send(new Uint8Array([INTENT_TAG, d]));
    return true;
  }

  chat(channel, text) {
    return this.sendJson({ type: "chat", channel, text });
  }

  keyframe() {
    return this.sendJson({ type: "keyframe" });
  }

  ping(t) {
    return this.sendJson({ type: "ping", t });
  }
}

export function dirName(d) {
  return DIR_NAMES[d];
}
