// Synthesized sound effects (WebAudio): off until the player turns them on.

const TONES = {
  dot: [[660, 0.04, "square", 0.04]],
  energizer: [[220, 0.12, "sawtooth", 0.06], [330, 0.12, "sawtooth", 0.06]],
  ghost: [[880, 0.06, "square", 0.06], [1320, 0.1, "square", 0.06]],
  death: [[520, 0.12, "triangle", 0.1], [390, 0.12, "triangle", 0.1], [260, 0.25, "triangle", 0.1]],
  fruit: [[990, 0.08, "sine", 0.08], [1320, 0.12, "sine", 0.08]],
  life: [[784, 0.1, "square", 0.05], [1046, 0.15, "square", 0.05]],
  start: [[523, 0.1, "square", 0.05], [659, 0.1, "square", 0.05], [784, 0.18, "square", 0.05]],
  over: [[392, 0.2, "triangle", 0.1], [330, 0.2, "triangle", 0.1], [262, 0.4, "triangle", 0.1]],
};

/** A tiny synth; `play(name)` does nothing while sound is off. */
export class Sound {
  constructor() {
    this.enabled = false;
    this.ctx = null;
    this.lastDot = 0;
  }

  /** Turn sound on or off; must be called from a user gesture the first time. */
  setEnabled(on) {
    this.enabled = on;
    if (on && !this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) this.ctx = new Ctx();
    }
    if (this.ctx && on && this.ctx.state === "suspended") this.ctx.resume();
  }

  play(name) {
    if (!this.enabled || !this.ctx) return;
    const now = this.ctx.currentTime;
    if (name === "dot") {
      if (now - this.lastDot < 0.09) return; // one chomp per eaten run, not per pellet
      this.lastDot = now;
    }
    let t = now;
    for (const [freq, dur, type, vol] of TONES[name] || []) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = type;
      osc.frequency.setValueAtTime(freq, t);
      gain.gain.setValueAtTime(vol, t);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + dur);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t);
      osc.stop(t + dur);
      t += dur;
    }
  }
}
