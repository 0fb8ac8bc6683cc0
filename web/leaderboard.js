// The lobby's leaderboard card: today's and all-time best scores, most wins, games played and
// who is online, read from the server's /api/leaderboard and /api/stats (textContent only).

/** The HTTP origin of the game server behind a websocket URL (ws://host/ws -> http://host). */
export function apiBase(wsUrl) {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return url.origin;
}

function list(title, rows, value) {
  const box = document.createElement("div");
  const h = document.createElement("h3");
  h.textContent = title;
  const ol = document.createElement("ol");
  ol.className = "board";
  for (const row of rows) {
    const li = document.createElement("li");
    li.textContent = `${row.name} · ${row[value]}`;
    ol.append(li);
  }
  if (rows.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "no games yet";
    ol.append(li);
  }
  box.append(h, ol);
  return box;
}

export class Leaderboard {
  constructor(root, base, fetchFn = (...args) => fetch(...args)) {
    this.root = root;
    this.base = base;
    this.fetch = fetchFn;
    this.timer = null;
  }

  async get(path) {
    const res = await this.fetch(`${this.base}${path}`, {
      cache: "no-store",
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json();
  }

  async refresh() {
    try {
      const [board, stats] = await Promise.all([
        this.get("/api/leaderboard"),
        this.get("/api/stats"),
      ]);
      this.render(board, stats);
    } catch {
      // Leaderboards are a nicety: keep what is shown and try again at the next refresh.
    }
  }

  render(board, stats) {
    const summary = document.createElement("p");
    summary.className = "muted board-summary";
    summary.textContent =
      `Online now: ${stats.players_online} · games today: ${stats.games_today}` +
      ` · all time: ${stats.games_played}`;
    this.root.replaceChildren(
      summary,
      list("Today", board.today.scores.slice(0, 5), "score"),
      list("All time", board.all_time.slice(0, 5), "score"),
      list("Most wins", board.most_wins.slice(0, 3), "wins"),
    );
  }

  /** Refresh now and then every `periodMs` while the lobby is showing. */
  start(periodMs = 15000) {
    this.refresh();
    this.timer = setInterval(() => {
      if (!this.root.closest("[hidden]")) this.refresh();
    }, periodMs);
  }
}
