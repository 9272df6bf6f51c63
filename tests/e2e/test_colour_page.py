"""The saved page of a colour run: colour thumbnails, channel views, and W_eff computed in the page.

The run: a small colour CNN (``ll.models.cnn((3, 32, 32), 4)``) trained on PNG pictures this test
writes, read through torchvision's ``ImageFolder`` with ``ToTensor`` and ``Normalize`` (so the
network sees normalised inputs and the page must un-normalise them to show them). Points are
clicked where the page draws them (``linlensProject``); the comparison's input column, the
neighbour row and the hover thumbnail are read back as pixels and must be the original colours;
the page's engine must give each clicked sample's W_eff within the page's stated tolerance.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.widgets._network import FLOAT16_TOLERANCE
from tests.helpers.browser.guard import ARTIFACTS_ROOT, Guard
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import (
    canvas_origin,
    project,
    root,
    settled_positions,
    wait_scatter_ready,
)
from tests.helpers.colour_images import train_colour_run

pytestmark = pytest.mark.e2e

TOLERANCE = {"float32": 1e-4, "float16": FLOAT16_TOLERANCE}
"""The page's stated tolerance: float16 layer arrays only when they move W_eff by at most this."""

CANVAS_PIXELS = "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"

FETCH_JS = """
async ({samples, checkpoint}) => {
  const packed = await window.linlensPage.readPage(document);
  const config = await window.linlensPage.expandPacked(packed);
  const respond = window.linlensPage.pageResponder(config);
  return {dtype: config.network?.spec?.dtype ?? null, out: samples.map((sample) => {
    const r = respond({type: 'fetch', sample, checkpoint});
    const i = (r.content.arrays ?? []).findIndex((a) => a.name === 'weight');
    const v = r.buffers[i];
    return {type: r.content.type, message: r.content.message ?? null,
            weight: Array.from(new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4))};
  })};
}
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory):
    import linlens_widgets as ll

    folder = tmp_path_factory.mktemp("colour")
    run = train_colour_run(folder, per_class=150, epochs=3, checkpoints=4)
    path = folder / "page.html"
    ll.LensExplorer(run).save_html(path)
    run.save(folder / "run")  # with its trajectory, for the notebook
    return run, path


def _open(browser: Browser, path) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => window.linlensModels !== undefined")
    return page, errors


def _isolated(points: np.ndarray, size: tuple[float, float], k: int) -> list[int]:
    """Up to ``k`` points at least 14 px from any other and 20 px inside the canvas."""
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    inside = (points > 20).all(1) & (points[:, 0] < size[0] - 20) & (points[:, 1] < size[1] - 20)
    return [int(i) for i in np.flatnonzero((d.min(1) >= 14) & inside)[:k]]


def _click(page: Page, embedding, i: int) -> None:
    origin, _ = canvas_origin(embedding)
    x, y = origin + project(embedding, [i])[0]
    page.mouse.move(x - 6, y - 6)
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(150)
    page.mouse.click(x, y)


def _rgb(flat: list[int], width: int) -> np.ndarray:
    return np.asarray(flat, np.uint8).reshape(-1, width, 4)[..., :3]


def _colourful(image: np.ndarray) -> np.ndarray:
    """Pixels whose channels differ by more than 40 (grey pixels have equal channels)."""
    return (image.max(-1).astype(int) - image.min(-1).astype(int)) > 40


def _clicked_samples(page: Page, k: int) -> list[int]:
    embedding = root(page, "embedding")
    compare = root(page, "compare")
    wait_scatter_ready(embedding)
    n = page.evaluate("window.linlensModels.embedding.get('_labels').shape[0]")
    _, size = canvas_origin(embedding)
    picks = _isolated(settled_positions(embedding, range(n)), size, k)
    assert len(picks) == k, f"only {len(picks)} isolated points to click"
    done = []
    for i in picks:
        _click(page, embedding, i)
        page.wait_for_function(
            "([r, a]) => r.dataset.a === String(a) && r.dataset.state === 'ready'",
            arg=[compare.element_handle(), i],
            timeout=15_000,
        )
        done.append(i)
    return done


def test_thumbnails_are_in_colour(browser: Browser, saved) -> None:
    run, path = saved
    images = run.probe_images()
    page, errors = _open(browser, path)
    (a,) = _clicked_samples(page, 1)
    compare = root(page, "compare")
    canvas = compare.locator("canvas[title='input image']").first
    width = int(canvas.get_attribute("width"))
    drawn = _rgb(canvas.evaluate(CANVAS_PIXELS), width)
    want = images[a]
    assert drawn.shape == want.shape
    # the original pixels (the page undoes the Normalize), within 1 of each channel
    assert np.abs(drawn.astype(int) - want.astype(int)).max() <= 1
    assert _colourful(drawn)[_colourful(want)].all() and _colourful(want).any()

    # the neighbour row: each thumbnail is its sample's picture, in colour
    page.wait_for_function(
        "(r) => r.querySelectorAll('[data-testid=neighbors] .linlens-nb canvas').length >= 5",
        arg=compare.element_handle(),
    )
    for nb in compare.locator("[data-testid=neighbors] .linlens-nb").all()[:5]:
        s = int(nb.get_attribute("data-sample"))
        c = nb.locator("canvas")
        got = _rgb(c.evaluate(CANVAS_PIXELS), int(c.get_attribute("width")))
        assert np.abs(got.astype(int) - images[s].astype(int)).max() <= 1, s

    # the hover tooltip's thumbnail (the scatter's uint8 atlas)
    embedding = root(page, "embedding")
    origin, _ = canvas_origin(embedding)
    x, y = origin + project(embedding, [a])[0]
    page.mouse.move(x + 8, y + 8)
    page.mouse.move(x, y, steps=4)
    img = embedding.locator(".linlens-tooltip img")
    img.wait_for(state="visible", timeout=5_000)
    src = img.get_attribute("src")
    tip = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))
    np.testing.assert_array_equal(tip, images[a])
    assert errors == []
    page.mouse.move(1, 1)
    compare.evaluate("(e) => e.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(300)
    ARTIFACTS_ROOT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_ROOT / "colour_saved_page_1280.png", animations="disabled")
    page.close()


def test_channel_views_switch(browser: Browser, saved) -> None:
    _, path = saved
    page, errors = _open(browser, path)
    _clicked_samples(page, 1)
    compare = root(page, "compare")
    switch = compare.locator("[data-testid=channel-view]")
    assert switch.is_visible()  # three channels: the switch is offered
    weights = compare.locator("canvas.linlens-img:not([title='input image'])").first
    sizes = {}
    for view in ("sum", "channels", "template"):
        switch.select_option(view)
        page.wait_for_function(
            "([r, v]) => r.dataset.channelView === v && r.dataset.state === 'ready'",
            arg=[compare.element_handle(), view],
        )
        sizes[view] = (int(weights.get_attribute("width")), int(weights.get_attribute("height")))
        pixels = _rgb(weights.evaluate(CANVAS_PIXELS), sizes[view][0])
        if view == "template":  # RGB, each channel rescaled to [0, 1]: colourful, not diverging
            assert _colourful(pixels).mean() > 0.2
    assert sizes == {"sum": (32, 32), "channels": (3 * 32 + 2, 32), "template": (32, 32)}
    assert compare.locator("[data-testid=scale-template]").is_visible()
    assert errors == []
    page.close()


def test_clicked_samples_get_their_weff_in_the_page(browser: Browser, saved) -> None:
    run, path = saved
    page, errors = _open(browser, path)
    clicked = _clicked_samples(page, 3)
    checkpoint = int(page.evaluate("window.linlensModels.compare.get('checkpoint')"))
    result = page.evaluate(FETCH_JS, {"samples": clicked, "checkpoint": checkpoint})
    assert errors == []
    page.close()
    tol = TOLERANCE[result["dtype"]]
    ew = run_weights(run).effective_weights(checkpoint)
    for s, got in zip(clicked, result["out"], strict=True):
        assert got["type"] == "sample", got["message"]
        want = ew.weight[s].reshape(-1).double().numpy()
        rel = np.linalg.norm(np.asarray(got["weight"]) - want) / np.linalg.norm(want)
        assert rel <= tol, (s, rel, result["dtype"])


def test_explorer_in_jupyterlab_at_1280(open_notebook, saved, guard: Guard) -> None:
    """The live explorer of the colour run, file browser open: a clicked sample compared."""
    _, path = saved
    lab = open_notebook(
        "colour.ipynb", [setup_cell(path.parent / "run"), "ex = ll.LensExplorer(run)\nex"]
    )
    guard.track(lab.page, lab.watch)
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    lab.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=60_000)
    embedding = root(explorer, "embedding")
    compare = root(explorer, "compare")
    wait_scatter_ready(embedding)
    explorer.scroll_into_view_if_needed()
    n = lab.nb.eval_json("ex.embedding.n_points")
    _, size = canvas_origin(embedding)
    (a,) = _isolated(settled_positions(embedding, range(n)), size, 1)
    _click(lab.page, embedding, a)
    lab.page.wait_for_function(
        "([r, a]) => r.dataset.a === String(a) && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), a],
        timeout=30_000,
    )
    canvas = compare.locator("canvas[title='input image']").first
    drawn = _rgb(canvas.evaluate(CANVAS_PIXELS), int(canvas.get_attribute("width")))
    images = np.asarray(lab.nb.eval_json(f"run.probe_images()[{a}].tolist()"), np.uint8)
    guard.check(np.abs(drawn.astype(int) - images.astype(int)).max() <= 1, "input colours")
    lab.page.mouse.move(1, 1)
    explorer.evaluate("(e) => e.scrollIntoView({block: 'start'})")  # the comparison's head shown
    lab.page.wait_for_timeout(600)
    ARTIFACTS_ROOT.mkdir(parents=True, exist_ok=True)
    lab.page.screenshot(path=ARTIFACTS_ROOT / "colour_explorer_1280.png", animations="disabled")
    guard.assert_clean()
