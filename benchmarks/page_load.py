"""First draw of a saved page: how long until its scatter shows, for two front-end bundles.

Run from the repository root: ``uv run python -m benchmarks.page_load PAGE [--before BUNDLE]``
(Chromium at /usr/lib/chromium/chromium).

``PAGE`` is a page written by ``save_html`` (e.g. ``linlens demo --html demo.html``). With
``--before``, a second copy of the page carries that built ``page.js`` instead of its own (e.g. the
bundle built from the previous commit); where the page's format changed too, ``--before`` may name
a whole page (``.html``) saved by the previous commit from the same run. The two are loaded
alternately ``--loads`` times each from file://. Timed: ``performance.now()`` (from the
navigation's start), in the first animation frame where each is seen: the first scatter on
screen (the 2D preview of the first frame, or the WebGL scatter where no preview was drawn), the
WebGL scatter ready (its root,
``data-linlens=embedding``, reports ``data-ready``: it has drawn and takes clicks), and the
comparison showing both samples (``data-state`` ready); medians. The page's own marks
(``linlens:mount``, ``:unpacked``, ``:preview``, ``:rendered``, ``:scatter``, ``:unpacking``,
``:network``, ``:later``) and the end of the HTML parse (``page:parsed``, DOMContentLoaded) are
printed beside them, in time order.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a saved page (.html)")
    parser.add_argument(
        "--before",
        type=Path,
        help="another built page.js, or a whole page (.html), to compare with",
    )
    parser.add_argument("--loads", type=int, default=5, help="loads of each page (5)")
    parser.add_argument("--clicks", type=int, default=0, help="points clicked and timed (0)")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

from playwright.sync_api import sync_playwright

from linlens_widgets.widgets._bundle import bundle_path
from tests.helpers.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.browser.widgets import click_point, clickable_points, root, wait_scatter_ready

WATCH = """
(() => {
  const marks = (window.__linlensMarks = {});
  const tick = () => {
    const scatter = document.querySelector('[data-linlens=embedding][data-ready="true"]');
    if (scatter && marks.scatter === undefined) marks.scatter = performance.now();
    const drawn = scatter || document.querySelector('[data-linlens=embedding] .linlens-preview');
    if (drawn && marks.drawn === undefined) marks.drawn = performance.now();
    const cmp = document.querySelector('[data-linlens=compare][data-state=ready]');
    if (cmp && marks.compare === undefined) marks.compare = performance.now();
    if (marks.scatter === undefined || marks.compare === undefined) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def with_bundle(page: Path, bundle: Path, out: Path) -> Path:
    """Copy ``page`` with its inlined ``page.js`` replaced by ``bundle``."""
    text = page.read_text(encoding="utf-8")
    own = bundle_path("page.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    if own not in text:
        raise SystemExit(f"{page} does not inline the current build of page.js; save it again")
    other = bundle.read_text(encoding="utf-8").replace("</script", "<\\/script")
    out.write_text(text.replace(own, other), encoding="utf-8")
    return out


def load_times(browser, page: Path) -> dict[str, float]:
    """Open ``page`` in a fresh context; the scatter's and the comparison's ready times (ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    tab.add_init_script(WATCH)
    tab.goto(page.resolve().as_uri())
    tab.wait_for_function(
        "() => window.__linlensMarks && window.__linlensMarks.scatter !== undefined"
        " && window.__linlensMarks.compare !== undefined",
        timeout=120_000,
    )
    marks = tab.evaluate(
        "() => Object.assign({}, window.__linlensMarks, Object.fromEntries("
        "performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),"
        " {'page:parsed': performance.getEntriesByType('navigation')[0]"
        ".domContentLoadedEventStart})"
    )
    context.close()
    return marks


CLICK_WATCH = """
(compare) => {
  const clicks = (window.__linlensClicks = []);
  let down = null;
  document.addEventListener("pointerdown", () => { down = performance.now(); }, true);
  const done = () => {
    if (down === null || compare.dataset.state !== "ready") return;
    if (compare.dataset.a !== String(window.__linlensClickTarget)) return;
    const start = down;
    down = null;
    requestAnimationFrame(() => clicks.push(performance.now() - start));
  };
  new MutationObserver(done).observe(compare, { attributes: true });
}
"""


def click_times(browser, page: Path, k: int) -> list[float]:
    """Click ``k`` points of ``page``, most isolated first: pointer-down to comparison (ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    tab.goto(page.resolve().as_uri())
    explorer = root(tab, "explorer")
    embedding, compare = root(explorer, "embedding"), root(explorer, "compare")
    wait_scatter_ready(embedding, timeout_ms=120_000)
    tab.wait_for_function(
        "(c) => c.dataset.state === 'ready'", arg=compare.element_handle(), timeout=120_000
    )
    tab.evaluate(CLICK_WATCH, compare.element_handle())
    shown = compare.evaluate("(c) => c.dataset.a")
    targets = [i for i in clickable_points(tab, embedding, k + 1) if str(i) != shown][:k]
    for n, i in enumerate(targets, start=1):
        tab.evaluate(f"() => {{ window.__linlensClickTarget = {i}; }}")
        click_point(tab, embedding, i)
        tab.wait_for_function(f"() => window.__linlensClicks.length >= {n}", timeout=60_000)
    times = tab.evaluate("() => window.__linlensClicks")
    context.close()
    return [float(t) for t in times]


def main() -> int:
    args = arguments().parse_args()
    if not CHROMIUM.is_file():
        print(f"Chromium not found at {CHROMIUM}; nothing measured")
        return 1
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        pages = {"this build": args.page}
        if args.before is not None:
            pages["before"] = (
                args.before
                if args.before.suffix == ".html"
                else with_bundle(args.page, args.before, Path(tmp) / "before.html")
            )
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        times: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        for _ in range(args.loads):
            for name, path in pages.items():
                times[name].append(load_times(browser, path))
        print(f"{args.page} ({args.page.stat().st_size / 1e6:.1f} MB), {args.loads} loads each")
        for name, runs in times.items():
            drawn = statistics.median(r["drawn"] for r in runs)
            scatter = statistics.median(r["scatter"] for r in runs)
            compare = statistics.median(r["compare"] for r in runs)
            each = ", ".join(f"{r['drawn']:.0f}" for r in runs)
            steps = ", ".join(
                f"{k} {statistics.median(r[k] for r in runs):.0f}"
                for k in sorted(runs[0], key=lambda k: statistics.median(r[k] for r in runs))
                if k.startswith(("linlens:", "page:"))
            )
            print(
                f"  {name}: first scatter on screen median {drawn:.0f} ms ({each}); WebGL scatter "
                f"ready median {scatter:.0f} ms; comparison ready median {compare:.0f} ms; "
                f"marks (medians, ms): {steps or 'none'}"
            )
        if args.clicks > 0:
            clicks = click_times(browser, args.page, args.clicks)
            each = ", ".join(f"{t:.0f}" for t in clicks)
            print(
                f"  this build: {len(clicks)} clicks, pointer-down to comparison shown median "
                f"{statistics.median(clicks):.0f} ms, max {max(clicks):.0f} ms ({each})"
            )
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
