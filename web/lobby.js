// The lobby: name (remembered), quick play, create, join by code, the live room list and a
// leaderboard placeholder. Actions go out through the callbacks given to the constructor.

const NAME_KEY = "pacArena.name";
const NAME_MAX = 16;

/** A name the server will accept on the first try for people who have not typed one. */
export function defaultName(random = Math.random) {
  return `Pac${String(Math.floor(random() * 9000) + 1000)}`;
}

export function storedName() {
  try {
    return localStorage.getItem(NAME_KEY) || "";
  } catch {
    return "";
  }
}

export function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Private mode without storage: the name is just not remembered.
  }
}

/** Binds the lobby's DOM; `on.quickPlay()`, `on.create(mode, priv)`, `on.join(code, spectate)`. */
export class Lobby {
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.$ = (sel) => root.querySelector(sel);
    this.nameInput = this.$("#name");
    this.codeInput = this.$("#join-code");
    this.message = this.$("#lobby-message");
    this.roomList = this.$("#room-list");
    this.$("#quick-play").addEventListener("click", () => this.on.quickPlay());
    this.$("#create-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.on.create(this.$("#create-mode").value, this.$("#create-private").checked);
    });
    this.$("#join-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = this.readCode();
      if (code) this.on.join(code, this.$("#join-watch").checked);
      else this.say("Type a room code first.");
    });
  }

  set name(value) {
    this.nameInput.value = value;
  }

  /** The typed name, trimmed; empty or too long gives an explanation instead. */
  readName() {
    const name = this.nameInput.value.trim().replace(/\s+/g, " ");
    if (!name) return { error: "Pick a name first." };
    if (name.length > NAME_MAX) return { error: `Names are at most ${NAME_MAX} characters.` };
    return { name };
  }

  readCode() {
    return this.codeInput.value.trim().toUpperCase();
  }

  /** Prefill the code box (from a /?room= link). */
  set code(value) {
    this.codeInput.value = value;
  }

  say(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  rooms(list) {
    this.roomList.replaceChildren();
    if (list.length === 0) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No public rooms yet: press Quick play to open one.";
      this.roomList.append(empty);
      return;
    }
    for (const r of list) {
      const li = document.createElement("li");
      const info = document.createElement("span");
      info.className = "room-info";
      info.textContent = `${r.code} · ${r.mode} · ${r.players}/${r.max} players · ${r.state}`;
      if (r.spectators) info.textContent += ` · ${r.spectators} watching`;
      const play = document.createElement("button");
      play.type = "button";
      play.textContent = "Join";
      play.disabled = r.players >= r.max;
      play.addEventListener("click", () => this.on.join(r.code, false));
      const watch = document.createElement("button");
      watch.type = "button";
      watch.className = "secondary";
      watch.textContent = "Watch";
      watch.addEventListener("click", () => this.on.join(r.code, true));
      li.append(info, play, watch);
      this.roomList.append(li);
    }
  }
}
