"""A saved page of a portable MLP compares every sample at every checkpoint, offline.

Ten random samples at three random checkpoints of a bias-free and a biased MLP: the page's own
responder (the in-browser engine over the weights the page carries) answers every one — none is
"not stored" — and its W_eff, b_eff and outputs, and the centred per-class similarity the
comparison draws, equal ``ll.effective_weights`` within 1e-4 (float32 weights) or 2e-3 (float16).
Clicking through the comparison itself draws each pair.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from playwright.sync_api import Browser

import linlens_widgets as ll
from linlens_widgets.analysis.neighbors import probe_mean
from linlens_widgets.analysis.weights import run_weights

pytestmark = pytest.mark.e2e

TOLERANCE = {"float32": 1e-4, "float16": 2e-3}

FETCH_JS = """
async ({requests}) => {
  const packed = await window.linlensPage.readPage(document);
  const config = await window.linlensPage.expandPacked(packed);
  const respond = window.linlensPage.pageResponder(config);
  const out = [];
  for (const [sample, checkpoint] of requests) {
    const t = performance.now();
    const r = respond({type: 'fetch', sample, checkpoint});
    const ms = performance.now() - t;
    const m = respond({type: 'fetch_probe_mean', checkpoint});
    const floats = (v) => Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4));
    const named = {};
    (r.content.arrays ?? []).forEach((a, i) => { named[a.name] = floats(r.buffers[i]); });
    out.push({type: r.content.type, message: r.content.message ?? null, label: r.content.label,
              predicted: r.content.predicted, ms, ...named, mean: floats(m.buffers[0])});
  }
  return {dtype: config.network?.spec?.dtype ?? null, out};
}
"""


def _run(bias: bool, seed: int) -> ll.Run:
    data = ll.datasets.digits()
    torch.manual_seed(seed)
    model = ll.models.mlp(data.n_features, [24, 16], data.n_classes, bias=bias, seed=seed)
    return ll.train(model, data, epochs=2, checkpoints=4, seed=seed, progress=False)


@pytest.fixture(scope="module", params=[False, True], ids=["bias-free", "biased"])
def saved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    run = _run(request.param, seed=3 + int(request.param))
    ll.embed(run, progress=False)
    path = tmp_path_factory.mktemp("page") / "page.html"
    ll.LensExplorer(run).save_html(path)
    return run, path


def _rel(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))


def _centred_rows(a: np.ndarray, b: np.ndarray, mean: np.ndarray) -> np.ndarray:
    u, v = a - mean, b - mean
    return (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))


def test_page_computes_every_sample(browser: Browser, saved) -> None:
    run, path = saved
    text = path.read_text()
    assert "embed_items" not in text  # no inlined BokehJS
    assert "computes any sample" in text
    rng = np.random.default_rng(7)
    n, e = len(run.probe_labels), len(run.checkpoints)
    checkpoints = rng.choice(e, size=3, replace=False).tolist()
    requests = [[int(s), int(c)] for c in checkpoints for s in rng.choice(n, 10, replace=False)]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.linlensModels !== undefined")
    result = page.evaluate(FETCH_JS, {"requests": requests})
    assert errors == []
    tol = TOLERANCE[result["dtype"]]
    for (sample, c), got in zip(requests, result["out"], strict=True):
        assert got["type"] == "sample", got["message"]
        ew = run_weights(run).effective_weights(c)
        want_w = ew.weight[sample].reshape(ew.weight.shape[1], -1).double().numpy()
        assert _rel(np.asarray(got["weight"]).reshape(want_w.shape), want_w) <= tol
        assert _rel(np.asarray(got["output"]), ew.output[sample].double().numpy()) <= tol
        if ew.bias is not None:
            assert _rel(np.asarray(got["bias"]), ew.bias[sample].double().numpy()) <= tol
        assert got["label"] == int(run.probe_labels[sample])
        mean = probe_mean(ew.weight).reshape(want_w.shape).numpy()
        assert _rel(np.asarray(got["mean"]).reshape(mean.shape), mean) <= tol
        other = requests[0][0] if sample != requests[0][0] else requests[1][0]
        wb = ew.weight[other].reshape(want_w.shape).double().numpy()
        want_rows = _centred_rows(want_w, wb, mean)
        got_rows = _centred_rows(np.asarray(got["weight"]).reshape(want_w.shape), wb, mean)
        assert np.abs(got_rows - want_rows).max() <= 10 * tol
    page.close()


def test_every_probe_sample_matches_the_engine_at_three_checkpoints(
    browser: Browser, saved
) -> None:
    """All samples, not a random few: rounding flips a ReLU for a few percent of them, which the
    page must correct (its stored ReLU states) to stay within the tolerance."""
    run, path = saved
    n, e = len(run.probe_labels), len(run.checkpoints)
    checkpoints = np.random.default_rng(5).choice(e, size=3, replace=False).tolist()
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.linlensModels !== undefined")
    result = page.evaluate(
        """async ({n, checkpoints}) => {
          const packed = await window.linlensPage.readPage(document);
          const config = await window.linlensPage.expandPacked(packed);
          const respond = window.linlensPage.pageResponder(config);
          const out = [];
          for (const checkpoint of checkpoints) {
            const rows = [];
            for (let sample = 0; sample < n; sample++) {
              const r = respond({type: 'fetch', sample, checkpoint});
              const i = r.content.arrays.findIndex((a) => a.name === 'weight');
              const v = r.buffers[i];
              rows.push(Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4)));
            }
            out.push(rows);
          }
          return {dtype: config.network.spec.dtype, out};
        }""",
        {"n": n, "checkpoints": checkpoints},
    )
    page.close()
    assert result["dtype"] == "float16"  # measured within tolerance when the page was written
    for c, rows in zip(checkpoints, result["out"], strict=True):
        want = run_weights(run).effective_weights(c).weight.double().reshape(n, -1).numpy()
        got = np.asarray(rows, np.float64)
        rel = np.linalg.norm(got - want, axis=1) / np.linalg.norm(want, axis=1)
        assert rel.max() <= TOLERANCE["float16"], (c, int(rel.argmax()), float(rel.max()))


def test_clicked_pairs_are_drawn_not_missing(browser: Browser, saved) -> None:
    run, path = saved
    rng = np.random.default_rng(11)
    n = len(run.probe_labels)
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.linlensModels !== undefined")
    for checkpoint in rng.choice(len(run.checkpoints), 3, replace=False).tolist():
        for a in rng.choice(n, 10, replace=False).tolist():
            page.evaluate(
                """([a, c]) => { const m = window.linlensModels.compare;
                   m.set('checkpoint', c); m.set('a', [a]); }""",
                [int(a), int(checkpoint)],
            )
            page.wait_for_function(
                """([a]) => { const r = document.querySelector('[data-linlens=compare]');
                   return r && r.dataset.a === String(a)
                     && r.dataset.state !== 'loading'; }""",
                arg=[int(a)],
            )
            state = page.evaluate("document.querySelector('[data-linlens=compare]').dataset.state")
            body = page.inner_text("[data-linlens=compare]")
            assert state == "ready", body
            assert not re.search("not stored", body)
    config = json.loads(page.inner_text("#linlens-config"))
    assert "bank" not in config
    # the metrics chart (SVG, no BokehJS): its cursor follows the scrubber's checkpoint
    assert page.locator("[data-testid=metrics-chart] path[data-series]").count() >= 1
    xs = []
    for k in (0, len(run.checkpoints) - 1):
        page.evaluate("(k) => window.linlensModels.scrubber.set('checkpoint', k)", k)
        xs.append(float(page.get_attribute(".linlens-chart-cursor", "x1")))
    assert xs[0] < xs[1]
    page.close()


def test_neighbour_thumbnails_need_no_weights_of_their_own(browser: Browser, saved) -> None:
    """Clicking A computes A's W_eff (and B's), not the ten neighbours': their images and
    labels come with the neighbour table, so a click costs one W_eff, not eleven."""
    _, path = saved
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.linlensModels !== undefined")
    sent = page.evaluate(
        """async () => {
          const m = window.linlensModels.compare;
          const send = m.send.bind(m);
          const seen = [];
          m.send = (msg) => { seen.push(msg); return send(msg); };
          const a = 5;
          m.set('a', [a]);
          const root = document.querySelector('[data-linlens=compare]');
          const row = () => Array.from(
            root.querySelectorAll('[data-testid=neighbors] .linlens-nb[data-sample]'));
          const asked = () => seen.some((s) => s.type === 'fetch_neighbors' && s.sample === a);
          for (let i = 0; i < 200; i++) {
            const done = row().length >= 10 && row().every((e) => e.querySelector('canvas'));
            if (root.dataset.a === String(a) && asked() && done) break;
            await new Promise((r) => setTimeout(r, 25));
          }
          await new Promise((r) => setTimeout(r, 300));
          return {drawn: row().filter((e) => e.querySelector('canvas')).length, asked: asked(),
                  fetched: seen.filter((s) => s.type === 'fetch').map((s) => s.sample),
                  b: m.get('b')};
        }"""
    )
    page.close()
    assert sent["asked"] and sent["drawn"] == 10, sent
    assert set(sent["fetched"]) <= {5, *sent["b"]}, sent
