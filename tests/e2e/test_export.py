"""``LensExplorer(run).save_html(path)`` opened from file:// with every network request blocked:
the scatter draws, scrubbing works, the comparison shows the engine's cosine, nothing leaves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Route

import linlens_widgets as ll
from linlens_widgets.analysis.weights import run_weights
from tests.helpers.browser.guard import Guard
from tests.helpers.browser.pixels import changed_fraction, element_pixels
from tests.helpers.browser.runs import embed_seed
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import (
    canvas_origin,
    click_point,
    clickable_points,
    points_drawn,
    poll,
    root,
    scatter_canvas,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

LOCAL_SCHEMES = ("data:", "blob:")
TOLERANCE = {"float32": 1e-4, "float16": 2e-3}


def engine_cosine(run, a: int, b: int, checkpoint: int) -> tuple[float, list[float]]:
    """Centred cosine of two samples' W_eff (and per class row), straight from the engine.

    Centred: the probe mean W_eff at that checkpoint is subtracted, as in ``class_similarity``.
    """
    w = run_weights(run).effective_weights(checkpoint).weight
    mean = ll.metrics.probe_mean(w).reshape(w.shape[1], -1)
    overall = ll.metrics.centred_cosine(w[a], w[b], mean)
    rows = zip(w[a].flatten(1), w[b].flatten(1), mean, strict=True)
    return overall, [ll.metrics.centred_cosine(x, y, m) for x, y, m in rows]


@pytest.fixture(scope="module")
def saved(digits_run_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """The run and its explorer page written by ``LensExplorer(run).save_html``."""
    import linlens_widgets as ll

    run = ll.Run.load(digits_run_path)
    path = ll.LensExplorer(run).save_html(tmp_path_factory.mktemp("page") / "explorer.html")
    return run, ll.embed(run, seed=embed_seed(), progress=False), Path(path)


@pytest.fixture(scope="module")
def offline(browser: Browser, saved):
    """The saved page in a context where every request but the page itself is aborted."""
    _, _, path = saved
    url = path.resolve().as_uri()
    aborted: list[str] = []

    def only_the_page(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.route("**/*", only_the_page)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch().attach(page)
    page.goto(url)
    yield page, watch, url, aborted
    context.close()


@pytest.fixture
def ui(offline, guard: Guard):
    page, watch, url, aborted = offline
    guard.track(page, watch)
    explorer = root(page, "explorer")
    explorer.wait_for(state="visible")
    wait_scatter_ready(root(explorer, "embedding"))
    return page, explorer, url, aborted


def _config(page) -> dict:
    return page.evaluate("() => window.linlensPage.readPage(document)")


def test_saved_page_draws_scatter_offline(ui, guard: Guard) -> None:
    page, explorer, _, aborted = ui
    n = _config(page)["models"]["embedding"]["state"]["_positions"]["shape"][1]
    drawn = points_drawn(root(explorer, "embedding"), range(n))
    guard.check(drawn > 0.95, f"saved page: only {drawn:.1%} of {n} points drawn in place")
    guard.check(
        page.locator("[data-testid=metrics-chart] path[data-series]").count() > 0,
        "the metrics panel's chart drew no series",
    )
    guard.check(not aborted, f"the saved page tried to reach the network: {aborted}")
    guard.assert_clean()


def test_saved_page_scrubs_offline(ui, guard: Guard) -> None:
    page, explorer, _, aborted = ui
    embedding = root(explorer, "embedding")
    n = _config(page)["models"]["embedding"]["state"]["_positions"]["shape"][1]
    slider = root(explorer, "scrubber").locator("input.linlens-checkpoint")
    canvas = scatter_canvas(embedding)
    canvas_origin(embedding)
    before = element_pixels(canvas)

    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] - 4, y)
    page.mouse.down()
    for x in np.linspace(box["x"] + box["width"] - 4, box["x"] - 20, 15):
        page.mouse.move(float(x), y)
        page.wait_for_timeout(20)
    page.mouse.up()
    for checkpoint, action in ((0, None), (1, "ArrowRight"), (2, "ArrowRight")):
        if action:
            slider.focus()
            page.keyboard.press(action)
        guard.check(
            slider.input_value() == str(checkpoint),
            f"slider {slider.input_value()} != {checkpoint}",
        )
        page.wait_for_function(
            "([r, e]) => r.dataset.checkpoint === String(e)",
            arg=[embedding.element_handle(), checkpoint],
            timeout=10_000,
        )
        drawn = poll(lambda: points_drawn(embedding, range(n)), lambda f: f > 0.95)
        guard.check(
            drawn > 0.95, f"checkpoint {checkpoint}: only {drawn:.1%} of points drawn in place"
        )
        now = element_pixels(canvas)
        change = changed_fraction(before, now)
        guard.check(
            change > 0.002, f"scatter barely changed at checkpoint {checkpoint}: {change:.3%}"
        )
        before = now
    compare_checkpoint = root(explorer, "compare").get_attribute("data-checkpoint")
    guard.check(
        compare_checkpoint == "2",
        f"the comparison did not follow the scrubber: {compare_checkpoint}",
    )
    guard.check(not aborted, f"the saved page tried to reach the network: {aborted}")
    guard.assert_clean()


def test_saved_page_compares_picked_samples_offline(ui, saved, guard: Guard) -> None:
    page, explorer, _, aborted = ui
    run, traj, _ = saved
    embedding = root(explorer, "embedding")
    compare = root(explorer, "compare")
    checkpoint = int(root(explorer, "scrubber").get_attribute("data-checkpoint"))
    # the page carries the network: every sample compares, so any point a click hits will do
    a, b = clickable_points(page, embedding, 2)
    click_point(page, embedding, a)
    click_point(page, embedding, b, shift=True)
    page.wait_for_function(
        "([r, a, b]) => r.dataset.a === String(a) && r.dataset.b === String(b)"
        " && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), a, b],
        timeout=10_000,
    )
    overall, per_class = engine_cosine(run, a, b, int(traj.checkpoint_ids[checkpoint]))
    shown = float(compare.locator("[data-testid=cosine]").get_attribute("data-value"))
    # the page's weights are float32 or, where measured within 2e-3, float16 (it says which)
    tol = TOLERANCE[_config(page)["network"]["spec"]["dtype"]]
    guard.check(
        abs(shown - overall) < tol,
        f"saved page cosine {shown!r} != engine cosine {overall!r} for samples {a}, {b}",
    )
    # a compact comparison (A's and B's classes) has every class one click away
    if compare.get_attribute("data-classes") == "focus":
        compare.locator("[data-testid=all-classes]").click()
        page.wait_for_function(
            "(r) => r.dataset.classes === 'all' && r.dataset.state === 'ready'",
            arg=compare.element_handle(),
            timeout=5_000,
        )
    for cell in compare.locator("[data-testid=cosine-class]").all():
        cls = int(cell.get_attribute("data-class"))
        value = float(cell.get_attribute("data-value"))
        guard.check(abs(value - per_class[cls]) < tol, f"class {cls}: {value} != {per_class[cls]}")
    images = compare.locator("canvas.linlens-img")
    guard.check(images.count() >= 22, f"only {images.count()} images in the comparison")
    guard.check(not aborted, f"the saved page tried to reach the network: {aborted}")
    guard.assert_clean()


def test_saved_page_made_no_network_request(ui, guard: Guard) -> None:
    """Every request the page made in this module: the file itself, or in-memory data/blob."""
    page, _, url, aborted = ui
    page.reload()
    root(page, "explorer").wait_for(state="visible")
    wait_scatter_ready(root(root(page, "explorer"), "embedding"))
    watch = next(w.watch for w in guard.tracked if w.page is page)
    outside = [r for r in watch.requests if r != url and not r.startswith(LOCAL_SCHEMES)]
    guard.check(url in watch.requests, f"the page request itself was not seen: {watch.requests}")
    guard.check(not outside, f"requests left the page: {outside}")
    guard.check(not aborted, f"the saved page tried to reach the network: {aborted}")
    guard.assert_clean()
