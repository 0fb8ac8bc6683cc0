// Keys, swipes and the on-screen pad, turned into a wanted direction (0 right, 1 down,
// 2 left, 3 up). `onDir` is called only when the wanted direction changes.

const KEY_DIRS = {
  ArrowRight: 0, KeyD: 0,
  ArrowDown: 1, KeyS: 1,
  ArrowLeft: 2, KeyA: 2,
  ArrowUp: 3, KeyW: 3,
};
const SWIPE_MIN_PX = 18;

function typingInto(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
}

/** Listens for direction input while `enabled()` is true. */
export class Input {
  constructor({ surface, pad, enabled, onDir }) {
    this.enabled = enabled;
    this.onDir = onDir;
    this.last = null;
    window.addEventListener("keydown", (ev) => this.onKey(ev));
    this.bindSwipe(surface);
    if (pad) this.bindPad(pad);
  }

  /** Forget the last direction so the next press is sent even if it repeats (join, respawn). */
  reset() {
    this.last = null;
  }

  want(dir) {
    if (!this.enabled() || dir === this.last) return;
    this.last = dir;
    this.onDir(dir);
  }

  onKey(ev) {
    if (typingInto(ev.target) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const dir = KEY_DIRS[ev.code];
    if (dir === undefined || !this.enabled()) return;
    ev.preventDefault(); // arrows must not scroll the page while playing
    this.want(dir);
  }

  bindSwipe(surface) {
    let start = null;
    surface.addEventListener(
      "touchstart",
      (ev) => {
        const t = ev.changedTouches[0];
        start = { x: t.clientX, y: t.clientY };
      },
      { passive: true },
    );
    surface.addEventListener(
      "touchmove",
      (ev) => {
        if (!start || !this.enabled()) return;
        ev.preventDefault();
        const t = ev.changedTouches[0];
        const dx = t.clientX - start.x;
        const dy = t.clientY - start.y;
        if (Math.max(Math.abs(dx), Math.abs(dy)) < SWIPE_MIN_PX) return;
        if (Math.abs(dx) > Math.abs(dy)) this.want(dx > 0 ? 0 : 2);
        else this.want(dy > 0 ? 1 : 3);
        start = { x: t.clientX, y: t.clientY }; // a long drag can turn again
      },
      { passive: false },
    );
    surface.addEventListener("touchend", () => (start = null), { passive: true });
  }

  bindPad(pad) {
    for (const button of pad.querySelectorAll("[data-dir]")) {
      const dir = Number(button.dataset.dir);
      button.addEventListener("pointerdown", (ev) => {
        ev.preventDefault();
        this.want(dir);
      });
    }
  }
}
