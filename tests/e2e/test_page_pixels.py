"""A saved page that stores the probe pixels once (the network reads its inputs from the
thumbnails) computes every clicked sample from exactly the run's inputs.

In the browser: the page's responder rebuilds each sample's input bit for bit from the
thumbnails the scatter's tooltip draws, its W_eff matches the engine's, and a click on a point
compares that sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

import linlens_widgets as ll
from linlens_widgets.analysis.weights import run_weights
from tests.helpers.browser.guard import Guard
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import click_point, clickable_points, root, wait_scatter_ready
from tests.helpers.pixel_runs import pixel_digits, stand_in_page

pytestmark = pytest.mark.e2e

FLOAT16 = 2e-3

FETCH_JS = """
async ({requests}) => {
  const packed = await window.linlensPage.readPage(document);
  const config = await window.linlensPage.expandPacked(packed);
  const respond = window.linlensPage.pageResponder(config);
  const thumbs = window.linlensModels.embedding.get('_thumbnails');
  const pixels = new Uint8Array(thumbs.view.buffer, thumbs.view.byteOffset, thumbs.view.byteLength);
  const D = thumbs.shape.slice(1).reduce((a, b) => a * b, 1);
  const floats = (v) => Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4));
  const out = requests.map(([sample, checkpoint]) => {
    const r = respond({type: 'fetch', sample, checkpoint});
    const named = {};
    (r.content.arrays ?? []).forEach((a, i) => { named[a.name] = floats(r.buffers[i]); });
    return {type: r.content.type, message: r.content.message ?? null, ...named,
            thumbnail: Array.from(pixels.subarray(sample * D, (sample + 1) * D))};
  });
  return {inputsFrom: packed.network.inputs_from ?? null, out};
}
"""


@pytest.fixture(scope="module")
def pixel_page(tmp_path_factory: pytest.TempPathFactory, frontend_built: None):
    return stand_in_page(pixel_digits(), tmp_path_factory.mktemp("pixels"))


def test_samples_are_computed_from_the_pixels_the_page_draws(
    browser: Browser, pixel_page: tuple[ll.Run, Path], guard: Guard
) -> None:
    run, path = pixel_page
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    guard.track(page, PageWatch().attach(page))
    page.goto(path.resolve().as_uri())
    # the thumbnails are unpacked after the scatter's first frame (page.js LATER)
    page.wait_for_function(
        "() => window.linlensModels !== undefined"
        " && window.linlensModels.embedding.get('_thumbnails') !== null"
    )
    n = len(run.probe_labels)
    x = np.asarray(run.probe_inputs, np.float32).reshape(n, -1)
    requests = [[int(s), c] for c in (0, 2) for s in np.random.default_rng(3).choice(n, 6)]
    result = page.evaluate(FETCH_JS, {"requests": requests})
    guard.check(result["inputsFrom"] == "thumbnails", "the page stores the inputs apart")
    for (sample, c), got in zip(requests, result["out"], strict=True):
        guard.check(got["type"] == "sample", f"#{sample}: {got['message']}")
        np.testing.assert_array_equal(np.asarray(got["input"], np.float32), x[sample])
        # the thumbnail the tooltip draws is the input's pixels
        pixels = (np.asarray(got["thumbnail"]) * (1 / 255)).astype(np.float32)
        np.testing.assert_array_equal(pixels, x[sample])
        ew = run_weights(run).effective_weights(c)
        want = ew.weight[sample].reshape(-1).double().numpy()
        error = np.linalg.norm(np.asarray(got["weight"]) - want) / np.linalg.norm(want)
        guard.check(error <= FLOAT16, f"#{sample} at checkpoint {c}: W_eff off by {error:.1e}")

    explorer = root(page, "explorer")
    embedding, compare = root(explorer, "embedding"), root(explorer, "compare")
    wait_scatter_ready(embedding)
    shown = compare.evaluate("(c) => c.dataset.a")
    target = next(i for i in clickable_points(page, embedding, 2) if str(i) != shown)
    click_point(page, embedding, target)
    page.wait_for_function(
        "([c, i]) => c.dataset.state === 'ready' && c.dataset.a === String(i)",
        arg=[compare.element_handle(), target],
        timeout=15_000,
    )
    guard.check(compare.locator(".linlens-error").count() == 0, "the comparison shows an error")
    page.close()
    guard.assert_clean()
