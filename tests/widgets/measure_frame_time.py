"""Measure the scatter's frame time with many points in real Chromium (not part of the suite).

Writes a kernel-free page of an ``EmbeddingView`` with N points (default 70,000) drifting over
10 checkpoints, opens it in Chromium, and records requestAnimationFrame intervals while (a) the
checkpoint changes (the client-side animation between checkpoints) and (b) the view is zoomed and
panned with the mouse wheel and drags. Prints medians and 95th percentiles, plus a baseline of
the same page with 1,000 points measured in the same run, so the ratio stays meaningful on a
busy machine.

    uv run python -m tests.widgets.measure_frame_time [N]    # from the repository root
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

import linlens_widgets as ll
from tests.helpers.browser.chromium import CHROMIUM, CHROMIUM_ARGS

RECORD = """async ([ms, action]) => {
  const root = document.querySelector('[data-linlens=embedding]');
  const canvas = root.querySelector('canvas');
  const times = [];
  let last = performance.now();
  let running = true;
  const tick = (t) => { times.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const r = canvas.getBoundingClientRect();
  const start = performance.now();
  let k = 0;
  while (performance.now() - start < ms) {
    if (action === 'wheel') {
      canvas.dispatchEvent(new WheelEvent('wheel', {deltaY: (k++ % 20 < 10 ? -40 : 40),
        clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true}));
    }
    await new Promise((res) => setTimeout(res, 16));
  }
  running = false;
  return times.slice(2);
}"""


def make_page(n: int, folder: Path) -> Path:
    """Page with n points over 10 checkpoints (a slow rotation plus noise)."""
    rng = np.random.default_rng(0)
    e = 10
    base = rng.normal(0, 0.35, (n, 2))
    angle = np.linspace(0, 0.6, e)
    rot = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], 1)
    pos = np.einsum("eij,nj->eni", rot.reshape(e, 2, 2), base)
    pos = np.clip(pos + rng.normal(0, 0.01, pos.shape), -1, 1).astype(np.float32)
    view = ll.EmbeddingView(pos, size=2.5)
    view.set_trait("_labels", (np.arange(n) % 10).astype(np.int32))
    return view.save_html(folder / f"scatter-{n}.html")


def frame_stats(page, url: str, action: str) -> list[float]:
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelector('[data-linlens=embedding]')?.dataset.ready === 'true'",
        timeout=120_000,
    )
    page.wait_for_timeout(1000)
    if action == "checkpoint":
        page.evaluate(
            """() => { const m = window.linlensModels.embedding; let e = 0;
            window._timer = setInterval(() => { e = (e + 1) % 10; m.set('checkpoint', e); },
            400); }"""
        )
        times = page.evaluate(RECORD, [4000, "none"])
        page.evaluate("() => clearInterval(window._timer)")
        return times
    return page.evaluate(RECORD, [4000, "wheel"])


SWITCH = """async (n) => {
  const root = document.querySelector('[data-linlens=embedding]');
  const m = window.linlensModels.embedding;
  const out = [];
  for (let k = 0; k < n; k++) {
    const target = String((Number(root.dataset.checkpoint) + 1) % 10);
    const t0 = performance.now();
    m.set('checkpoint', Number(target));
    while (root.dataset.checkpoint !== target) await new Promise((r) => setTimeout(r, 1));
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 450));
  }
  return out;
}"""


def switch_latency(page, url: str) -> list[float]:
    """Milliseconds from setting ``checkpoint`` to the new frame's points being drawn."""
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelector('[data-linlens=embedding]')?.dataset.ready === 'true'",
        timeout=120_000,
    )
    return page.evaluate(SWITCH, 8)


def summary(times: list[float]) -> str:
    a = np.asarray(times)
    med, p95 = statistics.median(a), np.percentile(a, 95)
    return f"median {med:.1f} ms, p95 {p95:.1f} ms, {len(a)} frames"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 70_000
    folder = Path(tempfile.mkdtemp(prefix="linlens-frames-"))
    pages = {k: make_page(k, folder).as_uri() for k in (1_000, n)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        results = {}
        for k, url in pages.items():
            for action in ("checkpoint", "wheel"):
                results[k, action] = frame_stats(page, url, action)
                print(f"{k:>7,} points, {action:>5}: {summary(results[k, action])}")
            results[k, "switch"] = switch_latency(page, url)
            print(f"{k:>7,} points, checkpoint switch latency: {summary(results[k, 'switch'])}")
        browser.close()
    for action in ("checkpoint", "wheel", "switch"):
        ratio = statistics.median(results[n, action]) / statistics.median(results[1_000, action])
        print(f"{action}: median frame time at {n:,} points = {ratio:.2f}x the 1,000-point one")


if __name__ == "__main__":
    main()
