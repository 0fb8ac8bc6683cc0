// Client settings: config.json next to index.html may name the websocket URL. The file in the
// repo leaves `wsUrl` empty (same origin); a deployment that serves web/ from elsewhere (a CDN)
// writes its wss:// URL there. A missing file also means same origin.

/** The websocket URL on the page's own origin: ws(s)://host/ws. */
export function defaultWsUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${loc.host}/ws`;
}

/** Load config.json when present; a missing or broken file means the defaults. */
export async function loadConfig() {
  const config = { wsUrl: defaultWsUrl() };
  try {
    // Never let a slow answer here hold up connecting: give it a few seconds at most.
    const signal = AbortSignal.timeout(3000);
    const res = await fetch("config.json", { cache: "no-store", signal });
    if (res.ok) {
      const data = await res.json();
      const url = data.wsUrl;
      if (typeof url === "string" && /^wss?:\/\//.test(url)) config.wsUrl = url;
    }
  } catch {
    // No config.json: same-origin server.
  }
  return config;
}
