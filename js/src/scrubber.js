/**
 * CheckpointScrubber front end: a native range input over the checkpoints (keyboard operable), play /
 * pause with speed, step buttons, a label with epoch/step/accuracy, and a sparkline of the run's
 * metrics with a cursor at the current checkpoint.
 */
import { icon } from "./icons.js";
import { CURSOR_COLOR, FPS_AT_SPEED_1, metricColors, SPEEDS } from "./contract.js";
import { Disposer, fmt, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { clampCheckpoint } from "./frames.js";

const SVG = "http://www.w3.org/2000/svg";
export { SPEEDS };

function s(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * Polyline points ("x,y x,y ...") for values over [0, width] x [0, height], each series scaled to
 * its own finite range (flat series sit in the middle). Non-finite values break nothing: they are
 * skipped.
 */
export function sparkPoints(values, width, height, pad = 2) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return "";
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const n = values.length;
  const out = [];
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const x = n === 1 ? width / 2 : (i / (n - 1)) * width;
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    const y = pad + (1 - t) * (height - 2 * pad);
    out.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  return out.join(" ");
}

/** Next checkpoint while playing: wraps to 0 when `loop`, else stays at the end (returns null). */
export function nextFrame(e, E, loop) {
  if (e + 1 < E) return e + 1;
  return loop ? 0 : null;
}

export function renderScrubber({ model, el }) {
  const root = makeRoot(el, "scrubber");
  const bag = new Disposer();
  const frames = model.get("_frames") ?? [];
  const E = frames.length;
  if (E === 0) {
    showError(root, new Error("the run has no checkpoints to scrub"), "CheckpointScrubber");
    return () => root.remove();
  }
  let checkpoint = clampCheckpoint(model.get("checkpoint"), E);
  let timer = null;

  const range = h("input", {
    type: "range",
    class: "linlens-checkpoint",
    min: 0,
    max: E - 1,
    step: 1,
    value: checkpoint,
    "aria-label": "Checkpoint",
  });
  const label = h("span", { class: "linlens-checkpoint-label", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "linlens-tool", "aria-label": "Previous checkpoint", title: "Previous checkpoint (←)" }, icon("prev"));
  const play = h("button", { type: "button", class: "linlens-tool", "aria-label": "Play", title: "Play (space)" }, icon("play"));
  const pause = h("button", { type: "button", class: "linlens-tool", "aria-label": "Pause", title: "Pause (space)" }, icon("pause"));
  const next = h("button", { type: "button", class: "linlens-tool", "aria-label": "Next checkpoint", title: "Next checkpoint (→)" }, icon("next"));
  const speed = h(
    "select",
    { class: "linlens-speed", "aria-label": "Playback speed" },
    ...SPEEDS.map((v) => h("option", { value: v }, `${v}×`)),
  );
  speed.value = String(SPEEDS.includes(model.get("speed")) ? model.get("speed") : 1);

  // Sparkline of up to two series (e.g. test accuracy and loss), cursor at the current frame.
  const W = 600;
  const H = 36;
  const svg = s("svg", { class: "linlens-spark", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const series = (model.get("_series") ?? []).slice(0, 2);
  const legend = h("div", { class: "linlens-spark-legend" });
  // A series' own colour (the sweep page: the run's colour), else its metric's colour.
  const byName = metricColors(series.map((ser) => ser.name));
  const colors = series.map((ser, k) => ser.color ?? byName[k]);
  series.forEach((ser, k) => {
    const cls = `linlens-spark-line linlens-spark-${k}`;
    svg.append(s("polyline", { class: cls, points: sparkPoints(ser.values, W, H), fill: "none", stroke: colors[k], "data-metric": ser.name }));
    legend.append(h("span", { class: `linlens-spark-key linlens-spark-${k}`, style: { color: colors[k] } }, ser.name));
  });
  svg.setAttribute("aria-label", series.length ? `Sparkline of ${series.map((x) => x.name).join(" and ")} over checkpoints` : "No metrics recorded");
  const cursor = s("line", { class: "linlens-spark-cursor", y1: 0, y2: H, stroke: CURSOR_COLOR, "stroke-dasharray": "3 2" });
  svg.append(cursor);

  const controls = h("div", { class: "linlens-scrub-row" }, prev, play, pause, next, range, speed);
  root.append(controls, label, h("div", { class: "linlens-spark-wrap" }, svg, legend));
  root.tabIndex = -1;
  // Keys pressed inside the scrubber are ours: JupyterLab/Notebook 7 (Lumino) skip their shortcuts
  // (e.g. notebook cursor moves on arrow keys) for events from inside such an element.
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  function describe(e) {
    const f = frames[e] ?? {};
    return f.label ?? `checkpoint ${e + 1}/${E}`;
  }

  function show() {
    range.value = String(checkpoint);
    range.setAttribute("aria-valuetext", describe(checkpoint));
    label.textContent = `${describe(checkpoint)}  (${checkpoint + 1}/${E})`;
    const x = E === 1 ? W / 2 : (checkpoint / (E - 1)) * W;
    cursor.setAttribute("x1", x.toFixed(1));
    cursor.setAttribute("x2", x.toFixed(1));
    root.dataset.checkpoint = String(checkpoint);
    const playing = timer !== null;
    play.setAttribute("aria-pressed", String(playing));
    root.dataset.playing = String(playing);
    // Tooltips for the sparkline's values at the cursor.
    svg.querySelector("title")?.remove();
    const t = s("title");
    t.textContent = series.map((ser) => `${ser.name}: ${fmt(ser.values[checkpoint])}`).join(", ");
    svg.prepend(t);
  }

  function setCheckpoint(e, sync = true) {
    const k = clampCheckpoint(e, E);
    if (k === checkpoint && Number(model.get("checkpoint")) === k) return;
    checkpoint = k;
    show();
    if (sync && model.get("checkpoint") !== k) {
      model.set("checkpoint", k);
      model.save_changes();
    }
  }

  function stop(sync = true) {
    if (timer !== null) clearInterval(timer);
    timer = null;
    show();
    if (sync && model.get("playing")) {
      model.set("playing", false);
      model.save_changes();
    }
  }

  function start(sync = true) {
    if (timer !== null) clearInterval(timer);
    if (checkpoint >= E - 1 && !model.get("loop")) setCheckpoint(0);
    const fps = Number(speed.value) * FPS_AT_SPEED_1;
    timer = setInterval(
      guarded(root, () => {
        const n = nextFrame(checkpoint, E, Boolean(model.get("loop")));
        if (n === null) stop();
        else setCheckpoint(n);
      }, "play"),
      1000 / fps,
    );
    show();
    if (sync && !model.get("playing")) {
      model.set("playing", true);
      model.save_changes();
    }
  }
  bag.add(() => stop(false));

  bag.listen(range, "input", guarded(root, () => setCheckpoint(Number(range.value)), "slider"));
  bag.listen(prev, "click", guarded(root, () => setCheckpoint(checkpoint - 1), "step"));
  bag.listen(next, "click", guarded(root, () => setCheckpoint(checkpoint + 1), "step"));
  bag.listen(play, "click", guarded(root, () => start(), "play"));
  bag.listen(pause, "click", guarded(root, () => stop(), "pause"));
  bag.listen(speed, "change", guarded(root, () => {
    model.set("speed", Number(speed.value));
    model.save_changes();
    if (timer !== null) start(false);
  }, "speed"));
  // Keyboard: arrows step (the range input does this natively when focused), space plays/pauses.
  bag.listen(root, "keydown", guarded(root, (ev) => {
    if (ev.target === speed) return;
    const onRange = ev.target === range;
    if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown", " "].includes(ev.key)) {
      ev.stopPropagation(); // the notebook must not also act on the key
    }
    if (ev.key === " " || ev.key === "k") {
      ev.preventDefault();
      if (timer === null) start();
      else stop();
    } else if (!onRange && (ev.key === "ArrowRight" || ev.key === "ArrowUp")) {
      ev.preventDefault();
      setCheckpoint(checkpoint + 1);
    } else if (!onRange && (ev.key === "ArrowLeft" || ev.key === "ArrowDown")) {
      ev.preventDefault();
      setCheckpoint(checkpoint - 1);
    } else if (!onRange && ev.key === "Home") {
      setCheckpoint(0);
    } else if (!onRange && ev.key === "End") {
      setCheckpoint(E - 1);
    }
  }, "keyboard"));

  bag.onModel(model, "change:checkpoint", guarded(root, () => setCheckpoint(model.get("checkpoint"), false), "checkpoint"));
  bag.onModel(model, "change:playing", guarded(root, () => {
    const want = Boolean(model.get("playing"));
    if (want && timer === null) start(false);
    if (!want && timer !== null) stop(false);
  }, "play"));
  bag.onModel(model, "change:speed", () => {
    speed.value = String(model.get("speed"));
    if (timer !== null) start(false);
  });

  show();
  if (model.get("playing")) start(false);
  return () => {
    bag.dispose();
    root.remove();
  };
}

export default { render: renderOrShowError(renderScrubber, "scrubber", "CheckpointScrubber") };
