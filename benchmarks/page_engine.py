"""Speed of the JavaScript effective-weight engine: the paper's 784-256-256-10 MLP, the CNN preset.

Run from the repository root: ``uv run python -m benchmarks.page_engine`` (node, and Chromium
at /usr/lib/chromium/chromium for the browser figures; about half a minute). Needs the built
front end (``cd js && npm run build``), which provides ``engine.js`` and ``engine-worker.js``.

One *click* is one sample's W_eff (10 × 784), outputs and predicted class, then the centred cosine
against a second sample's W_eff (overall and per class), the work between a click on a point and the
drawing of the comparison (drawing itself is not included). Medians over 50 clicks on 50 different
samples:

1. node: ``js/test/run_engine.mjs`` (engine call only, in-process).
2. Chromium, page opened from file://, the engine in a Web Worker started from a Blob URL (as a
   saved page runs it): timed from the request to the reply on the main thread, transfer
   included, plus the cosine on the main thread.
3. The same page with the engine on the main thread (the fallback where no worker can start).

Baseline, same run: ``ll.effective_weights`` in PyTorch for one sample (what a kernel computes per
click, without the round trip to it). The browser's W_eff is also checked against PyTorch's
(relative error, float32 storage). The network is the seeded initialisation, not a trained one: the
cost does not depend on the weights' values beyond how many units are active (about half here).
Target: well under 50 ms from click to drawn comparison (set for the paper MLP; the CNN preset on
28 x 28 inputs is measured the same way for reference).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    return argparse.ArgumentParser(description=__doc__.splitlines()[0])


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

import numpy as np
import torch

import linlens_widgets as ll
from tests.helpers.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.browser.engine_page import missing_bundle, payload, write_page

ROOT = Path(__file__).resolve().parents[1]

RUNNER = ROOT / "js" / "test" / "run_engine.mjs"
CLICKS = 50
TARGET_MS = 50.0

# In the page: load the network and the samples, then time CLICKS clicks, each on a new sample.
CLICK_JS = """
async ({clicks, useWorker, keep}) => {
  const E = window.linlensEngine;
  const engine = await window.startEngine({useWorker});
  const C = engine.nOutputs;
  let t;
  const other = await engine.compute({network: 'net', inputs: 'probe', sample: 0});
  const mean = new Float32Array(other.weight.length);
  const ms = [], kept = [], engineMs = [];
  for (let i = 0; i < clicks; i++) {
    t = performance.now();
    const res = await engine.compute({network: 'net', inputs: 'probe', sample: i});
    const cos = E.centredCosine(res.weight, other.weight, mean, C);
    ms.push(performance.now() - t);
    engineMs.push(res.ms);
    if (i < keep) kept.push(Array.from(res.weight));
    if (!Number.isFinite(cos.overall)) throw new Error('cosine is not finite');
  }
  const mode = engine.mode, reason = engine.reason;
  engine.close();
  return {ms, engineMs, loadMs: engine.loadMs, kept, mode, reason};
}
"""


def median(values: list[float]) -> float:
    """Median of a list of numbers."""
    return float(statistics.median(values))


def torch_baseline(model: torch.nn.Module, x: torch.Tensor) -> list[float]:
    """Milliseconds of ``ll.effective_weights`` for one sample, per sample."""
    ll.effective_weights(model, x[:1])
    times = []
    for i in range(len(x)):
        start = time.perf_counter()
        ll.effective_weights(model, x[i : i + 1])
        times.append((time.perf_counter() - start) * 1e3)
    return times


def node_times(data: dict, work: Path) -> list[float] | None:
    """Per-sample engine milliseconds under node, or None without node."""
    node = shutil.which("node")
    if node is None:
        return None
    (work / "in.json").write_text(json.dumps(data))
    done = subprocess.run(
        [node, str(RUNNER), str(work / "in.json"), str(work / "out.bin"), "--repeat", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["ms"]  # first pass (cold JIT), then the same samples again


def browser_runs(data: dict, work: Path) -> dict[str, dict] | None:
    """Click timings in Chromium with the worker and on the main thread, or None without it."""
    if not CHROMIUM.is_file():
        return None
    from playwright.sync_api import sync_playwright

    page_path = write_page(work / "engine.html", data)
    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(page_path.as_uri())
        for name, use_worker in (("worker", True), ("main thread", False)):
            args = {"clicks": CLICKS, "useWorker": use_worker, "keep": 5}
            results[name] = page.evaluate(CLICK_JS, args)
        browser.close()
    if errors:
        raise RuntimeError(f"the page raised: {errors}")
    return results


def setups() -> list[tuple[str, torch.nn.Module]]:
    """The measured networks: the paper's MLP (the target) and the CNN preset on 28 x 28 images."""
    return [
        ("paper MLP 784-256-256-10, bias-free", ll.models.mlp(784, [256, 256], 10, seed=0)),
        (
            "CNN preset on 28x28 (conv 8, conv 16, 2x2 max-pools)",
            ll.models.cnn((28, 28), 10, seed=0),
        ),
    ]


def main() -> int:
    """Measure and print the medians, the ratio to the PyTorch baseline and to the target."""
    arguments().parse_args()
    if missing_bundle():
        print(f"{', '.join(missing_bundle())} missing; run `cd js && npm run build` first")
        return 1
    x = torch.rand((CLICKS, 784), generator=torch.Generator().manual_seed(0))
    for title, model in setups():
        measure(title, model.eval(), x)
    return 0


def measure(title: str, model: torch.nn.Module, x: torch.Tensor) -> None:
    """Print the figures of one network: PyTorch baseline, node, Chromium worker and main thread."""
    data = payload(model, x, "float32")
    base = median(torch_baseline(model, x))
    print(f"{title}: {CLICKS} clicks on {CLICKS} different samples")
    print(f"  baseline, PyTorch ll.effective_weights for one sample: median {base:.2f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ms = node_times(data, work)
        if ms is None:
            print("  node: not installed, not measured")
        else:
            cold, warm = median(ms[:CLICKS]), median(ms[CLICKS:])
            print(
                f"  node, engine call: median {warm:.2f} ms warm (x{warm / base:.3f} PyTorch), "
                f"{cold:.2f} ms on the first pass, first call {ms[0]:.1f} ms"
            )
        runs = browser_runs(data, work)
    if runs is None:
        print(f"  Chromium not found at {CHROMIUM}; browser not measured")
        return
    ref = ll.effective_weights(model, x[:5]).weight.reshape(5, -1).double().numpy()
    for name, run in runs.items():
        got = np.asarray(run["kept"], dtype=np.float64)
        err = float((np.linalg.norm(got - ref, axis=1) / np.linalg.norm(ref, axis=1)).max())
        click = median(run["ms"])
        verdict = "PASS" if click < TARGET_MS else "MISS"
        mode = run["mode"] + (f"; {run['reason']}" if run["reason"] else "")
        print(
            f"  Chromium, {name} (mode {mode}): click to comparison median {click:.2f} ms"
            f" (p90 {np.percentile(run['ms'], 90):.2f}, max {max(run['ms']):.2f},"
            f" first click {run['ms'][0]:.2f}); engine alone {median(run['engineMs']):.2f} ms;"
            f" load {run['loadMs']:.1f} ms; W_eff vs PyTorch rel. error {err:.1e}"
        )
        print(f"    target < {TARGET_MS:.0f} ms: ratio {click / TARGET_MS:.3f} -> {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
