/** The package stylesheet: JupyterLab theme variables with fallbacks for plain pages. */
export const CSS = `
.linlens-root {
  --ll-fg: var(--jp-ui-font-color1, #1f2328);
  --ll-muted: var(--jp-ui-font-color2, #57606a);
  --ll-bg: var(--jp-layout-color1, #ffffff);
  --ll-bg2: var(--jp-layout-color2, #f3f4f6);
  --ll-border: var(--jp-border-color2, #d0d7de);
  --ll-accent: var(--jp-brand-color1, #1976d2);
  --ll-a: #111111;
  --ll-b: #d400d4;
  font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: 12px;
  color: var(--ll-fg);
  box-sizing: border-box;
  position: relative;
}
.linlens-root *, .linlens-root *::before, .linlens-root *::after { box-sizing: inherit; }
.linlens-error {
  border: 1px solid #d73a49; background: #ffeef0; color: #86181d; padding: 8px 10px;
  border-radius: 4px; margin: 4px 0; font-family: var(--jp-code-font-family, monospace);
  white-space: pre-wrap;
}
.linlens-notice { color: var(--ll-muted); padding: 12px; font-style: italic; }
.linlens-toolbar, .linlens-scrub-row { display: flex; align-items: center; gap: 4px; flex-wrap: wrap; margin-bottom: 4px; }
.linlens-tool {
  display: inline-flex; align-items: center; justify-content: center;
  min-width: 28px; height: 28px; padding: 0 6px; border: 1px solid var(--ll-border);
  background: var(--ll-bg); color: var(--ll-fg); border-radius: 4px; cursor: pointer; font-size: 14px; line-height: 1;
}
.linlens-tool:hover { background: var(--ll-bg2); }
.linlens-tool[aria-pressed="true"] { background: var(--ll-accent); color: #fff; border-color: var(--ll-accent); }
.linlens-tool:focus-visible, .linlens-checkpoint:focus-visible, .linlens-legend-item:focus-visible { outline: 2px solid var(--ll-accent); outline-offset: 1px; }
.linlens-root select { height: 28px; border: 1px solid var(--ll-border); border-radius: 4px; background: var(--ll-bg); color: var(--ll-fg); }
.linlens-status { margin-left: auto; color: var(--ll-muted); }
.linlens-plot { position: relative; width: 100%; border: 1px solid var(--ll-border); border-radius: 4px; overflow: hidden; background: var(--ll-bg); }
.linlens-canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.linlens-badge { position: absolute; left: 6px; top: 4px; color: var(--ll-muted); pointer-events: none; background: color-mix(in srgb, var(--ll-bg) 80%, transparent); padding: 1px 4px; border-radius: 3px; }
.linlens-wheel-hint {
  position: absolute; left: 50%; top: 8px; transform: translateX(-50%); pointer-events: none;
  background: color-mix(in srgb, var(--ll-fg) 80%, transparent); color: var(--ll-bg);
  padding: 3px 8px; border-radius: 4px;
}
.linlens-wheel-hint[hidden] { display: none; }
.linlens-tooltip {
  position: absolute; z-index: 5; pointer-events: none; display: flex; gap: 8px; align-items: center;
  background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px; padding: 6px;
  box-shadow: 0 2px 8px rgba(0,0,0,.15); max-width: 220px;
}
.linlens-tooltip[hidden] { display: none; }
.linlens-tooltip img { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid var(--ll-border); }
.linlens-tip-title { font-weight: 600; }
.linlens-ok { color: #2e7d32; } .linlens-bad { color: #c62828; }
.linlens-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; margin-top: 4px; align-items: center; }
.linlens-legend-item { display: inline-flex; align-items: center; gap: 4px; border: none; background: none; color: var(--ll-fg); padding: 2px 4px; cursor: pointer; font: inherit; border-radius: 3px; }
.linlens-legend-item.is-off { opacity: .35; text-decoration: line-through; }
.linlens-swatch { width: 10px; height: 10px; border-radius: 50%; display: inline-block; }
.linlens-colorbar { display: inline-block; width: 140px; height: 10px; border: 1px solid var(--ll-border); border-radius: 2px; vertical-align: middle; }
.linlens-tick, .linlens-colorbar-label { color: var(--ll-muted); }
.linlens-checkpoint { flex: 1 1 200px; min-width: 120px; accent-color: var(--ll-accent); }
.linlens-checkpoint-label { display: block; color: var(--ll-fg); margin: 2px 0; font-variant-numeric: tabular-nums; }
.linlens-spark-wrap { position: relative; }
.linlens-spark { width: 100%; height: 36px; display: block; background: var(--ll-bg2); border-radius: 3px; }
.linlens-spark-line { stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.linlens-spark-cursor { stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.linlens-spark-legend { display: flex; gap: 12px; font-size: 11px; }
.linlens-spark-key::before { content: "— "; }
.linlens-compare-head { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: baseline; margin-bottom: 6px; }
.linlens-tag { font-weight: 600; padding: 1px 5px; border-radius: 3px; color: #fff; background: var(--ll-muted); }
.linlens-tag-a { background: var(--ll-a); } .linlens-tag-b { background: var(--ll-b); }
.linlens-cosine { font-weight: 600; font-variant-numeric: tabular-nums; }
.linlens-checkpoint-note { color: var(--ll-muted); }
.linlens-compare-body { overflow-x: auto; }
.linlens-grid { display: grid; gap: 2px; align-items: start; justify-content: start; }
.linlens-cell { display: flex; flex-direction: column; align-items: center; font-size: 10px; color: var(--ll-muted); padding: 2px; border: 2px solid transparent; border-radius: 3px; }
.linlens-cell.is-pred { border-color: var(--ll-fg); }
.linlens-colhead { justify-content: flex-end; text-align: center; }
.linlens-cos-class { white-space: nowrap; }
.linlens-classname { color: var(--ll-fg); font-weight: 600; font-size: 11px; }
.linlens-rowhead { flex-direction: row; gap: 2px; align-self: center; color: var(--ll-fg); font-size: 11px; white-space: nowrap; }
.linlens-img { width: 100%; height: auto; aspect-ratio: var(--ll-aspect, 1); image-rendering: pixelated; display: block; border: 1px solid var(--ll-border); }
.linlens-bars { display: block; max-width: 100%; height: auto; }
.linlens-cell > .linlens-img { align-self: stretch; }
.linlens-bias, .linlens-logit { white-space: nowrap; font-variant-numeric: tabular-nums; }
.linlens-scale { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 6px; color: var(--ll-muted); }
.linlens-scale-note { flex-basis: 100%; }
.linlens-root[data-linlens="explorer"] { display: flex; flex-direction: column; gap: 8px; container-type: inline-size; }
.linlens-ex-main { display: flex; gap: 12px; align-items: flex-start; }
.linlens-ex-left { flex: 1 1 0; min-width: 300px; }
.linlens-ex-right { flex: 1 1 0; min-width: 0; }
.linlens-help { color: var(--ll-muted); font-size: 11px; }
/* scatter marks (operands A/B, trails, highlighted neighbours) and explorer focus */
.linlens-overlay { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; overflow: visible; }
.linlens-overlay text { font-family: var(--jp-ui-font-family, system-ui, sans-serif); }
.linlens-root[data-linlens="explorer"]:focus { outline: none; }
.linlens-root[data-linlens="explorer"]:focus-visible { outline: 2px solid var(--ll-accent); outline-offset: 2px; }
/* Comparison and explorer layout: the scatter and the comparison side by side (the comparison
   compact, A's and B's classes, when the full grid does not fit), so a 1280x720 screen with
   JupyterLab's file browser open shows the scrubber, the scatter and the comparison at once; the
   comparison goes below the scatter only on a phone-narrow explorer. Labels and numbers are
   never clipped; presentation size scales all text. */
@container (max-width: 680px) {
  .linlens-ex-main { flex-direction: column; align-items: stretch; }
  .linlens-ex-left, .linlens-ex-right { flex: 1 1 auto; min-width: 0; }
}
.linlens-compare-controls { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center; margin-bottom: 6px; color: var(--ll-muted); }
.linlens-compare-controls label { display: inline-flex; gap: 4px; align-items: center; }
.linlens-grid { column-gap: 4px; }
.linlens-grid .linlens-cell > .linlens-img { min-width: 0; }
.linlens-grid > .linlens-cell { min-width: 0; }
.linlens-cos-class { font-variant-numeric: tabular-nums; color: var(--ll-fg); font-size: 11px; }
.linlens-scalebar { display: inline-flex; gap: 4px; align-items: center; white-space: nowrap; }
.linlens-scalebar .linlens-colorbar { width: 100px; }
.linlens-neighbors:empty { display: none; }
.linlens-neighbors { margin-top: 6px; }
.linlens-nb-head { color: var(--ll-fg); margin-bottom: 4px; }
.linlens-nb-agreement { font-weight: 600; }
.linlens-nb-list { display: flex; flex-wrap: wrap; gap: 4px; }
.linlens-nb { display: flex; flex-direction: column; align-items: center; width: 44px; font-size: 10px; color: var(--ll-muted); border: 2px solid transparent; border-radius: 3px; }
.linlens-nb.is-other { border-color: #c62828; }
.linlens-nb .linlens-img { width: 36px; }
.linlens-nb-label { color: var(--ll-fg); font-weight: 600; }
.linlens-root.is-presentation, .is-presentation .linlens-root { font-size: 16px; }
.is-presentation .linlens-cell, .is-presentation .linlens-nb, .is-presentation .linlens-help, .is-presentation .linlens-spark-legend { font-size: 14px; }
.is-presentation .linlens-classname, .is-presentation .linlens-rowhead, .is-presentation .linlens-cos-class { font-size: 15px; }
.is-presentation .linlens-grid { --ll-cell: 84px; --ll-cell-max: 128px; }
.is-presentation .linlens-nb { width: 60px; }
.is-presentation svg.linlens-chart { font-size: 15px !important; }
.is-presentation .linlens-nb .linlens-img { width: 52px; }
`;
