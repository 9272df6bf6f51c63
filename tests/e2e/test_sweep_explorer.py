"""``SweepExplorer(sweep).save_html(path)`` in Chromium from file://, every request but the page
blocked: one scrubber moves every scatter to its own checkpoint, a box drawn in one scatter
selects the same samples in all, and the comparison follows the brushed sample across runs."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Route

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.pixels import changed_fraction, element_pixels
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import (
    canvas_origin,
    drag_path,
    poll,
    root,
    scatter_canvas,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, frontend_built: None) -> Path:
    """A two-run init-scale sweep (the runs' checkpoints differ), saved as a page."""
    import linlens_widgets as ll
    from linlens_widgets.sweeps import record, task

    out = tmp_path_factory.mktemp("sweep")
    data = ll.datasets.digits()
    make = functools.partial(ll.models.mlp, 64, [16], 10)
    entries = []
    for scale, n_checkpoints in ((0.01, 5), (1.0, 4)):
        settings = {
            "train_kwargs": {"epochs": 2, "checkpoints": n_checkpoints},
            "analyses": ["embed"],
        }
        name = f"init_scale={scale}"
        params = {"init_scale": scale, "seed": 0}
        entries.append(task.run_point(make, data, name, params, settings, str(out / name)))
    record.write_record(out, {"train_kwargs": {}, "analyses": ["embed"]}, entries)
    ex = ll.SweepExplorer(ll.Sweep.load(out), color_by="init_scale")
    return ex.save_html(out / "sweep.html", title="init scale 0.01 vs 1")


@pytest.fixture(scope="module")
def offline(browser: Browser, saved: Path):
    url = saved.resolve().as_uri()
    aborted: list[str] = []

    def only_the_page(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    context.route("**/*", only_the_page)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch().attach(page)
    page.goto(url)
    yield page, watch, aborted
    context.close()


@pytest.fixture
def ui(offline, guard: Guard):
    page, watch, aborted = offline
    guard.track(page, watch)
    sweep = root(page, "sweep")
    sweep.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('[data-linlens=sweep]').dataset.ready")
    scatters = sweep.locator(".linlens-root[data-linlens=embedding]")
    assert scatters.count() == 2
    for i in range(2):
        wait_scatter_ready(scatters.nth(i))
    return page, sweep, scatters, aborted


def _config(page) -> dict:
    return page.evaluate("() => window.linlensPage.readPage(document)")


def test_one_scrubber_moves_every_scatter(ui, guard: Guard) -> None:
    page, sweep, scatters, aborted = ui
    mapping = _config(page)["models"]["sweep"]["state"]["_mapping"]
    slider = root(sweep, "scrubber").locator("input.linlens-checkpoint")
    last = len(mapping[0]) - 1
    guard.check(slider.input_value() == str(last), f"starts at {slider.input_value()}")
    before = [element_pixels(scatter_canvas(scatters.nth(i))) for i in range(2)]
    slider.focus()
    page.keyboard.press("Home")
    for k in range(len(mapping[0])):
        if k:
            page.keyboard.press("ArrowRight")
        for i in range(2):
            page.wait_for_function(
                "([r, e]) => r.dataset.checkpoint === String(e)",
                arg=[scatters.nth(i).element_handle(), mapping[i][k]],
                timeout=10_000,
            )
        if k == 0:  # wait for the transition to the first checkpoint to draw
            moved = poll(
                lambda: [
                    changed_fraction(before[i], element_pixels(scatter_canvas(scatters.nth(i))))
                    for i in range(2)
                ],
                lambda v: min(v) > 0.002,
            )
            guard.check(
                min(moved) > 0.002,
                f"scrubbing to the start changed {moved} of the two scatters' pixels",
            )
    guard.check(
        sweep.get_attribute("data-shown") == ",".join(str(m[-1]) for m in mapping),
        f"shown {sweep.get_attribute('data-shown')} at the end of the axis",
    )
    guard.check(not aborted, f"the saved page tried to reach the network: {aborted}")
    guard.assert_clean()


def test_brushing_one_scatter_highlights_the_same_samples_in_all(ui, guard: Guard) -> None:
    page, sweep, scatters, _ = ui
    first, second = scatters.nth(0), scatters.nth(1)
    n = _config(page)["models"]["sweep"]["state"]["_n_samples"]
    second_before = element_pixels(scatter_canvas(second))
    first.get_by_role("button", name="Box select").click()
    origin, (w, h) = canvas_origin(first)
    box = np.array([[0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h]])
    drag_path(page, origin + box)
    read = "() => [0, 1].map((i) => window.linlensModels['embedding' + i].get('selection'))"
    selections = poll(lambda: page.evaluate(read), lambda v: len(v[0]) > 0)
    guard.check(len(selections[0]) > 0, "the box selected nothing in the first scatter")
    guard.check(
        selections[0] == selections[1],
        f"second scatter selected {selections[1][:8]}…, first {selections[0][:8]}…",
    )
    count = str(len(selections[0]))
    guard.check(
        second.get_attribute("data-selected") == count,
        f"second scatter shows {second.get_attribute('data-selected')} selected, not {count}",
    )
    changed = poll(
        lambda: changed_fraction(second_before, element_pixels(scatter_canvas(second))),
        lambda v: v > 0.001,
    )
    guard.check(changed > 0.001, f"the second scatter's highlight changed {changed:.4%} pixels")
    compare = root(sweep, "compare")
    s = selections[0][0]
    guard.check(
        (compare.get_attribute("data-a"), compare.get_attribute("data-b")) == (str(s), str(n + s)),
        f"comparison shows {compare.get_attribute('data-a')}/"
        f"{compare.get_attribute('data-b')}, expected {s}/{n + s}",
    )
    first.get_by_role("button", name="Pan and zoom").click()
    guard.folder.mkdir(parents=True, exist_ok=True)  # the view at 1280×720, to look at
    page.screenshot(path=str(guard.folder / "sweep_explorer.png"))
    guard.assert_clean()


def _compare_ready(page, compare) -> None:
    page.wait_for_function(
        "(r) => r.dataset.state === 'ready'", arg=compare.element_handle(), timeout=15_000
    )


def test_the_page_opens_on_a_finished_centred_comparison_and_says_one_count(
    ui, guard: Guard
) -> None:
    page, sweep, _, _ = ui
    compare = root(sweep, "compare")
    _compare_ready(page, compare)
    text = compare.inner_text()
    guard.check("computing" not in text, f"a stale message: {text[:200]!r}")
    guard.check("not centred" not in text, "the page could not centre the similarity")
    guard.check("centred cosine" in text, "no centred similarity shown")
    note = page.locator(".linlens-page-note").inner_text()
    n = _config(page)["models"]["sweep"]["state"]["_n_samples"]
    guard.check(f"any of the {n:,} samples" in note, f"the note counts otherwise: {note!r}")
    guard.assert_clean()


def test_any_clicked_sample_is_compared_across_runs_in_the_page(ui, guard: Guard) -> None:
    page, sweep, scatters, _ = ui
    n = _config(page)["models"]["sweep"]["state"]["_n_samples"]
    first = scatters.nth(0)
    compare = root(sweep, "compare")
    # A point far from the one compared now, its position read from what the page draws.
    current = int(compare.get_attribute("data-a"))
    drawn = settled_positions(first, range(n))
    far = int(np.argmax(np.linalg.norm(drawn - drawn[current], axis=1)))
    origin, _ = canvas_origin(first)
    page.mouse.click(*(origin + drawn[far]))
    picked = poll(lambda: compare.get_attribute("data-a"), lambda v: v != str(current))
    guard.check(picked != str(current), "the click compared nothing new")
    s = int(picked)
    guard.check(compare.get_attribute("data-b") == str(n + s), "B is not A's copy in run B")
    _compare_ready(page, compare)
    guard.check(compare.locator(".linlens-error").count() == 0, "the page refused the sample")
    guard.assert_clean()


def test_panel_labels_do_not_cover_points(ui, guard: Guard) -> None:
    _, sweep, scatters, _ = ui
    for i in range(scatters.count()):
        canvas = scatter_canvas(scatters.nth(i)).bounding_box()
        guard.check(scatters.nth(i).locator(".linlens-badge").count() == 0, "a badge on points")
        note = sweep.locator(".linlens-sweep-shown").nth(i)
        box = note.bounding_box()
        guard.check(
            box["y"] + box["height"] <= canvas["y"], f"panel {i}'s label overlaps its scatter"
        )
        guard.check(note.inner_text().startswith("shows checkpoint "), note.inner_text())
    guard.assert_clean()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (
            lambda html: html.replace(
                'type="application/json">{', 'type="application/json">{NaN', 1
            ),
            "JSON",
        ),
        (
            lambda html: html.replace("window.linlensPage", "window.linlensPageGone"),
            "did not load",
        ),
    ],
    ids=["bad-state", "no-code"],
)
def test_a_damaged_sweep_page_says_so_instead_of_rendering_blank(
    browser: Browser, saved: Path, tmp_path: Path, damage, says: str
) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(damage(saved.read_text(encoding="utf-8")), encoding="utf-8")
    page = browser.new_page()
    page.goto(broken.resolve().as_uri())
    alert = page.locator(".linlens-error[role=alert]")
    alert.wait_for(state="visible", timeout=10_000)
    text = alert.inner_text()
    assert "This page could not be shown" in text and says in text, text
    page.close()
