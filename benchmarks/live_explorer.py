"""The live explorer's first state from a stored run: from running the cell to the scatter drawn.

Run from the repository root: ``uv run python -m benchmarks.live_explorer RUN_FOLDER`` (Chromium at
/usr/lib/chromium/chromium; a few minutes for a 10,000-probe run).

Each round opens a fresh notebook in a real JupyterLab (a fresh kernel) and runs two cells, as a
user does: ``import linlens_widgets as ll`` (instant: the package imports its parts on first
use), then ``ex = ll.LensExplorer(ll.Run.load(RUN)); ex``. Timed from pressing Shift+Enter on the
second cell:

- kernel: ``Run.load`` and ``LensExplorer`` in the kernel (its own clock), torch and the other
  libraries' first imports included;
- first frame: until the scatter's first frame is on screen (the ``linlens:preview`` mark of
  its 2D first frame), the widget's state sent over the kernel's websocket included;
- WebGL scatter: until the interactive WebGL scatter has replaced it (its ``data-ready``).

``--bare`` runs every round on a copy of the run without the metrics panel's analyses, the
comparison's neighbour tables and the stored predictions (the first opening after ``run.save``:
the predictions are computed and the panel is computed in the background); by default the run is
opened as it is stored. Each round's kernel is shut down before the next round starts. Target:
the first frame in under 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def at_least_one(text: str) -> int:
    """An integer of at least 1 (argparse type): a median of no rounds is no figure."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a stored run folder (Run.save)")
    parser.add_argument("--rounds", type=at_least_one, default=3, help="fresh notebooks timed (3)")
    parser.add_argument("--bare", action="store_true", help="open a copy without the analyses")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

from playwright.sync_api import Browser, sync_playwright

from tests.helpers.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.browser.lab import LabServer, start_lab
from tests.helpers.browser.notebook import LabNotebook, write_notebook
from tests.helpers.browser.widgets import root, wait_scatter_ready

TARGET_S = 5.0
FIRST_STATE = """\
import time as _time
_t0 = _time.time()
ex = ll.LensExplorer(ll.Run.load({run!r}))
kernel_s = _time.time() - _t0
panel = "pending" if ex.panel_figure is None else "drawn"
ex"""


def bare_copy(run: Path, work: Path) -> Path:
    """Copy ``run`` without what its first opening stores (panel, tables, predictions)."""
    copy = work / "bare_run"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(run, copy, symlinks=True)
    for pattern in ("plots.*", "comparison_tables.*", "predictions.*"):
        for entry in copy.glob(f"analysis/{pattern}"):
            entry.unlink()
    return copy


def one_round(
    browser: Browser, server: LabServer, run: Path, k: int
) -> tuple[float, float, float, str]:
    """Time one first state in a fresh notebook: (kernel, first frame, WebGL scatter s, panel)."""
    name = f"round{k}.ipynb"
    write_notebook(server.root_dir / name, ["import linlens_widgets as ll"])
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        nb = LabNotebook(page, server.notebook_url(name))
        nb.open(timeout_s=120)
        nb.run_cell(0, timeout_s=60)
        cell = nb.cell(nb.append_cell(FIRST_STATE.format(run=str(run))))
        cell.locator(".jp-InputArea-editor .cm-content").click()
        pressed = float(page.evaluate("performance.now()"))
        start = time.perf_counter()
        page.keyboard.press("Shift+Enter")
        wait_scatter_ready(root(cell, "embedding"), timeout_ms=600_000)
        webgl = time.perf_counter() - start
        marks = page.evaluate(
            "performance.getEntriesByName('linlens:preview').map((m) => m.startTime)"
        )
        first = (float(marks[0]) - pressed) / 1000.0 if marks else float("nan")
        nb.wait_kernel_idle(600)
        kernel, panel = nb.eval_json("[kernel_s, panel]")
        return float(kernel), first, webgl, str(panel)
    finally:
        page.close()
        shut_kernels(server)


def shut_kernels(server: LabServer) -> None:
    """Shut down every kernel of the server, so the next round does not run beside this one's.

    A first opening goes on computing the metrics panel's analyses in the background (minutes at
    10,000 probes); left running, it would load the machine under the next rounds.
    """
    kernels = server.api("/api/kernels")
    for kernel in kernels if isinstance(kernels, list) else []:
        server.api(f"/api/kernels/{kernel['id']}", method="DELETE")


def main() -> int:
    """Time the rounds and print each, the medians and the verdict against the target."""
    args = arguments().parse_args()
    work = Path(tempfile.mkdtemp(prefix="live_explorer_"))
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        server = start_lab(work / "lab")
        try:
            for k in range(args.rounds):
                run = bare_copy(args.run, work) if args.bare else args.run
                kernel, first, webgl, panel = one_round(browser, server, run.resolve(), k)
                results.append((kernel, first, webgl))
                print(
                    f"round {k + 1}: kernel {kernel:.2f} s, first frame {first:.2f} s, "
                    f"WebGL scatter {webgl:.2f} s, panel {panel}"
                )
        finally:
            server.stop()
            browser.close()
    kernel, first, webgl = (statistics.median(r[j] for r in results) for j in range(3))
    verdict = "PASS" if first < TARGET_S else "MISS"
    print(
        f"median: kernel {kernel:.2f} s, first frame {first:.2f} s ({verdict}, target < "
        f"{TARGET_S} s), WebGL scatter {webgl:.2f} s"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
