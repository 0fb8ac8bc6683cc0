// The chat panel: a lobby channel and the room channel, drawn with textContent only.

const MAX_LINES = 200;

function timeOf(ts) {
  const d = new Date(ts || Date.now());
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Shows one channel at a time and sends lines through `onSend(channel, text)`. */
export class ChatPanel {
  constructor({ log, form, input, title, onSend }) {
    this.log = log;
    this.input = input;
    this.title = title;
    this.onSend = onSend;
    this.channel = "lobby";
    this.lines = { lobby: [], room: [] };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (this.onSend(this.channel, text)) this.input.value = "";
    });
  }

  /** Switch the panel to "lobby" or "room". */
  show(channel) {
    this.channel = channel;
    this.title.textContent = channel === "room" ? "Room chat" : "Lobby chat";
    this.redraw();
  }

  clear(channel) {
    this.lines[channel] = [];
    if (channel === this.channel) this.redraw();
  }

  history(channel, lines) {
    if (!(channel in this.lines)) return;
    this.lines[channel] = lines.slice(-MAX_LINES);
    if (channel === this.channel) this.redraw();
  }

  add(line) {
    const list = this.lines[line.channel];
    if (!list) return;
    list.push(line);
    if (list.length > MAX_LINES) list.shift();
    if (line.channel === this.channel) this.append(line);
  }

  /** A local notice (rate limit, errors); not sent anywhere. */
  notice(text) {
    const line = { channel: this.channel, from: null, text, ts: Date.now(), system: true };
    this.add({ ...line, local: true });
  }

  redraw() {
    this.log.replaceChildren();
    for (const line of this.lines[this.channel]) this.append(line);
  }

  append(line) {
    const row = document.createElement("div");
    row.className = line.system ? "line system" : "line";
    if (line.local) row.classList.add("local");
    const when = document.createElement("span");
    when.className = "ts";
    when.textContent = timeOf(line.ts);
    row.append(when);
    if (line.from) {
      const who = document.createElement("span");
      who.className = "from";
      who.textContent = `${line.from}:`;
      row.append(who);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = line.text;
    row.append(text);
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(row);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }
}
