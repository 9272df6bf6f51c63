"""The effective-weight engine in Chromium, from a file:// page: its Blob-URL worker starts, its
W_eff, offsets and outputs equal ``ll.effective_weights``, and it falls back to the main thread
where no worker can run."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import Browser, Page

import linlens_widgets as ll
from tests.helpers.browser.engine_page import missing_bundle, payload, write_page

pytestmark = pytest.mark.e2e

TOLERANCE = {"float32": 1e-4, "float16": 2e-3}
SAMPLES = 5

COMPUTE_JS = """
async ({useWorker, samples, workerSource}) => {
  const engine = await window.startEngine({useWorker, workerSource});
  const results = [];
  for (let i = 0; i < samples; i++) {
    const r = await engine.compute({network: 'net', inputs: 'probe', sample: i});
    results.push({
      weight: Array.from(r.weight), bias: r.bias && Array.from(r.bias),
      output: Array.from(r.output), predicted: r.predicted,
      transferred: r.weight instanceof Float32Array,
    });
  }
  // the comparison's centred cosine of samples 0 and 1, centred on the mean W_eff of all samples
  const C = engine.nOutputs, size = results[0].weight.length;
  const mean = new Float32Array(size);
  for (const r of results) r.weight.forEach((v, j) => { mean[j] += v / results.length; });
  const w = (i) => Float32Array.from(results[i].weight);
  const cosine = window.linlensEngine.centredCosine(w(0), w(1), mean, C);
  const out = {mode: engine.mode, reason: engine.reason, results, cosine};
  engine.close();
  return out;
}
"""

MODELS = {
    "mlp-bias-free": lambda: ll.models.mlp(64, [48, 32], 10, seed=11),
    "mlp-biased": lambda: ll.models.mlp(64, [48, 32], 10, bias=True, seed=12),
    "cnn-preset": lambda: ll.models.cnn((12, 12), 10, seed=13),
}


@pytest.fixture(scope="module")
def bundle() -> None:
    missing = missing_bundle()
    if missing:
        pytest.fail(f"engine bundle not built ({', '.join(missing)}); run `cd js && npm run build`")


def open_page(browser: Browser, path: Path) -> tuple[Page, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.resolve().as_uri())
    return page, errors


def rel_error(got: list[list[float]], want: torch.Tensor) -> float:
    want_np = want.reshape(len(want), -1).double().numpy()
    diff = np.linalg.norm(np.asarray(got, dtype=np.float64) - want_np, axis=1)
    return float((diff / np.linalg.norm(want_np, axis=1)).max())


def half_rounded(model: torch.nn.Module) -> torch.nn.Module:
    copy = deepcopy(model)
    with torch.no_grad():
        for t in copy.parameters():
            t.copy_(t.half().float())
    return copy


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("name", list(MODELS))
def test_worker_results_equal_the_engine(
    browser: Browser, bundle: None, tmp_path: Path, name: str, dtype: str
) -> None:
    model = MODELS[name]().eval()
    x = torch.rand((SAMPLES, 64 if name.startswith("mlp") else 144))
    path = write_page(tmp_path / "engine.html", payload(model, x, dtype))
    page, errors = open_page(browser, path)
    got = page.evaluate(COMPUTE_JS, {"useWorker": True, "samples": SAMPLES, "workerSource": None})
    page.close()
    assert not errors
    assert got["mode"] == "worker", got["reason"]
    res = got["results"]
    assert all(r["transferred"] for r in res)
    ew = ll.effective_weights(model, x)
    tol = TOLERANCE[dtype]
    assert rel_error([r["output"] for r in res], ew.output) <= tol
    if name.startswith("cnn") and dtype == "float16":
        ew = ll.effective_weights(
            half_rounded(model), x
        )  # max-pool choices follow the stored weights
        tol = TOLERANCE["float32"]
    assert rel_error([r["weight"] for r in res], ew.weight) <= tol
    if ew.bias is None:
        assert all(r["bias"] is None for r in res)
    else:
        diff = np.abs(np.asarray([r["bias"] for r in res]) - ew.bias.numpy()).max()
        assert diff <= tol * float(ew.output.abs().max())
    assert [r["predicted"] for r in res] == ew.output.argmax(dim=1).tolist()
    want = centred_cosine(ew.weight, 0, 1)
    assert got["cosine"]["overall"] == pytest.approx(want[0], abs=10 * tol)
    assert got["cosine"]["perClass"] == pytest.approx(want[1], abs=10 * tol)


def centred_cosine(weight: torch.Tensor, a: int, b: int) -> tuple[float, list[float]]:
    """Cosine of samples a and b after subtracting the mean W_eff over all samples (float64)."""
    w = weight.reshape(len(weight), weight.shape[1], -1).double()
    centred = w - w.mean(dim=0)
    wa, wb = centred[a], centred[b]
    overall = float((wa * wb).sum() / (wa.norm() * wb.norm()))
    rows = torch.nn.functional.cosine_similarity(wa, wb, dim=1)
    return overall, rows.tolist()


@pytest.mark.parametrize(
    ("setup", "worker_source", "reason"),
    [
        ("delete window.Worker", None, "not available"),
        ("", "throw new Error('refused')", "worker failed"),
    ],
)
def test_main_thread_fallback(
    browser: Browser,
    bundle: None,
    tmp_path: Path,
    setup: str,
    worker_source: str | None,
    reason: str,
) -> None:
    model = MODELS["mlp-biased"]().eval()
    x = torch.rand((2, 64))
    page, errors = open_page(browser, write_page(tmp_path / "engine.html", payload(model, x)))
    if setup:
        page.evaluate(setup)
    args = {"useWorker": True, "samples": 2, "workerSource": worker_source}
    got = page.evaluate(COMPUTE_JS, args)
    page.close()
    assert got["mode"] == "main"
    assert reason in got["reason"]
    ew = ll.effective_weights(model, x)
    assert rel_error([r["weight"] for r in got["results"]], ew.weight) <= TOLERANCE["float32"]
    assert not [e for e in errors if "refused" not in e]
