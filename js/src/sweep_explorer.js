/**
 * SweepExplorer front end: one scatter per run (small multiples), one scrubber over a common epoch
 * axis, a comparison of one sample across two runs, and an SVG chart overlaying one metric of
 * every run. The links are applied here only (the rules are under SweepLayout in contract.json),
 * so scrubbing and brushing need no kernel; the same render works in a saved page (page.js, root
 * kind "sweep"). The chart is chart.js's, the one chart of the package.
 */
import { renderChart } from "./chart.js";
import { renderCompare } from "./compare.js";
import { Disposer, guarded, h, makeRoot, renderOrShowError, showError } from "./dom.js";
import { renderEmbedding } from "./embedding.js";
import { checkpointCaption } from "./format.js";
import { resolveModel, setIfChanged } from "./explorer.js";
import { renderScrubber } from "./scrubber.js";

/** Checkpoint position each panel shows at axis position `k` (clamped to the axis). */
export function mappedCheckpoints(mapping, k) {
  return mapping.map((row) => row[Math.min(Math.max(k, 0), row.length - 1)] ?? 0);
}

/** The comparison's (A, B) for probe sample `s`: run A's sample s, and run B's copy, N + s. */
export function crossRunSamples(s, N) {
  return { a: s, b: N + s };
}

/**
 * Link the models: the scrubber's position moves every scatter to its mapped checkpoint and the
 * comparison to the same axis position; a selection in one scatter is copied to all others and
 * its first sample is compared across the two runs. Returns {onPick, unlink}.
 */
export function linkSweep({ scrubber, embeddings, compare, mapping, N, onMove = () => {} }, bag = new Disposer()) {
  const onCheckpoint = () => {
    const k = scrubber.get("checkpoint");
    const shown = mappedCheckpoints(mapping, k);
    embeddings.forEach((m, i) => setIfChanged(m, "checkpoint", shown[i]));
    setIfChanged(compare, "checkpoint", k);
    onMove(k, shown);
  };
  const compareSample = (s) => {
    const next = crossRunSamples(s, N);
    setIfChanged(compare, "a", [next.a]);
    setIfChanged(compare, "b", [next.b]);
  };
  embeddings.forEach((source) => {
    bag.onModel(source, "change:selection", () => {
      const sel = source.get("selection") ?? [];
      for (const other of embeddings) if (other !== source) setIfChanged(other, "selection", sel);
      if (sel.length) compareSample(sel[0]);
    });
  });
  bag.onModel(scrubber, "change:checkpoint", onCheckpoint);
  onCheckpoint();
  return { onPick: (i) => compareSample(i), unlink: () => bag.dispose() };
}

const CSS = `
.linlens-root[data-linlens="sweep"] { display: flex; flex-direction: column; gap: 8px; }
.linlens-sweep-grid { display: grid; gap: 10px; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
.linlens-sweep-panel { border: 1px solid var(--ll-border, #d0d7de); border-radius: 6px; padding: 4px 6px; min-width: 0; }
.linlens-sweep-title { display: flex; gap: 6px; align-items: baseline; font-size: 12px; margin-bottom: 2px; min-width: 0; }
.linlens-sweep-title strong { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.linlens-sweep-chip { display: inline-block; width: 10px; height: 10px; border-radius: 50%; flex: none; }
.linlens-sweep-shown { color: var(--ll-muted, #57606a); font-size: 11px; margin-left: auto; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.linlens-sweep-metric { border: 1px solid var(--ll-border, #d0d7de); border-radius: 6px; padding: 4px 6px; min-width: 0; }
.linlens-sweep-caption { font-size: 12px; color: var(--ll-muted, #57606a); margin-bottom: 4px; }
`;

function ensureSweepStyle(doc) {
  if (doc.getElementById("linlens-sweep-style")) return;
  const style = doc.createElement("style");
  style.id = "linlens-sweep-style";
  style.textContent = CSS;
  doc.head.append(style);
}

export async function renderSweepExplorer({ model, el }) {
  const root = makeRoot(el, "sweep");
  ensureSweepStyle(el.ownerDocument ?? document);
  const bag = new Disposer();
  const cleanups = [];
  try {
    const refs = model.get("embeddings") ?? [];
    const [scrubber, compare, ...embeddings] = await Promise.all([
      resolveModel(model, model.get("scrubber"), "scrubber"),
      resolveModel(model, model.get("compare"), "compare"),
      ...refs.map((r, i) => resolveModel(model, r, `embeddings[${i}]`)),
    ]);
    const panels = model.get("_panels") ?? [];
    const mapping = model.get("_mapping") ?? [];
    const N = model.get("_n_samples") ?? 0;
    const pair = model.get("compare_runs") ?? [0, panels.length - 1];

    const top = h("div", { class: "linlens-sweep-top" });
    const grid = h("div", { class: "linlens-sweep-grid" });
    const compareBox = h("div", { class: "linlens-sweep-compare" });
    const metricBox = h("div", { class: "linlens-sweep-metric", "data-testid": "sweep-metric" });
    const help = h("div", { class: "linlens-help" }, "One scrubber drives every run (each shows its latest checkpoint at or before the epoch). Brush in any scatter: the same samples light up in all. Click a point to compare that sample across the two runs below.");
    root.append(top, grid, compareBox, help);

    const shownNotes = [];
    const hosts = embeddings.map((_, i) => {
      const p = panels[i] ?? {};
      const note = h("span", { class: "linlens-sweep-shown" });
      shownNotes.push(note);
      const host = h("div", {});
      grid.append(
        h(
          "div",
          { class: "linlens-sweep-panel", "data-panel": i, "data-run": p.name ?? "" },
          h("div", { class: "linlens-sweep-title" }, h("span", { class: "linlens-sweep-chip", style: { background: p.color ?? "#888" } }), h("strong", {}, p.label ?? `run ${i}`), note),
          host,
        ),
      );
      return host;
    });
    grid.append(metricBox); // the chart is the last tile, beside the scatters
    const label = (i) => panels[i]?.label ?? `run ${i}`;
    compareBox.append(h("div", { class: "linlens-sweep-caption" }, `The same sample in two runs — A: ${label(pair[0])} · B: ${label(pair[1])} (B's copy of sample #s is numbered #${N}+s)`));
    const chart = renderChart(metricBox, { width: 460, height: 250, ...model.get("_metric") });

    const onMove = (k, shown) => {
      chart.setCheckpoint(k);
      root.dataset.checkpoint = String(k);
      root.dataset.shown = shown.join(",");
      shown.forEach((pos, i) => {
        const labels = embeddings[i].get("_checkpoint_labels") ?? [];
        const full = checkpointCaption(pos, labels.length || pos + 1, labels[pos]);
        shownNotes[i].textContent = `shows ${full.split(" · ").slice(0, 2).join(" · ")}`;
        shownNotes[i].title = full;
      });
    };
    const links = linkSweep({ scrubber, embeddings, compare, mapping, N, onMove }, bag);
    cleanups.push(renderScrubber({ model: scrubber, el: top }));
    embeddings.forEach((m, i) => {
      // No badge over the points: the panel's title says which checkpoint it shows.
      cleanups.push(renderEmbedding({ model: m, el: hosts[i], hooks: { onPick: guarded(root, links.onPick, "pick"), badge: false } }));
    });
    cleanups.push(renderCompare({ model: compare, el: compareBox }));
    root.dataset.ready = "true";
  } catch (e) {
    showError(root, e, "SweepExplorer");
  }
  return () => {
    bag.dispose();
    for (const c of cleanups.reverse()) c?.();
    root.remove();
  };
}

export default { render: renderOrShowError(renderSweepExplorer, "sweep", "SweepExplorer") };
