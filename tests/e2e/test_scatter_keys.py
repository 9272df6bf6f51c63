"""The explorer in JupyterLab at 1280x720 with the file browser open: keys after a click stay in
the explorer, the operands A and B and the neighbours are marked on the scatter, and a metric
has one colour in the scrubber's sparkline and the Bokeh panel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.browser.guard import ARTIFACTS_ROOT, Guard
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import (
    canvas_origin,
    click_point,
    clickable_points,
    kernel_value,
    poll,
    root,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

# Screenshots go with the test artifacts; LINLENS_UPDATE_SCREENSHOTS=1 writes the documented ones.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("LINLENS_UPDATE_SCREENSHOTS") == "1"
    else ARTIFACTS_ROOT / "screenshots"
)
EXPLORER_CELL = "ex = ll.LensExplorer(run)\nex"


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    session = open_notebook("keys.ipynb", [setup_cell(digits_run_path), EXPLORER_CELL])
    session.page.set_viewport_size({"width": 1280, "height": 720})
    browser_tab = session.page.locator('.lm-TabBar-tab[data-id="filebrowser"]')
    if browser_tab.count() and "lm-mod-current" not in (browser_tab.get_attribute("class") or ""):
        browser_tab.click()
    return session


@pytest.fixture
def ui(lab, guard: Guard):
    guard.track(lab.page, lab.watch)
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=30_000)
    wait_scatter_ready(root(explorer, "embedding"))
    return lab, explorer


def _scrubber_checkpoint(explorer) -> int:
    return int(root(explorer, "scrubber").get_attribute("data-checkpoint"))


def test_keys_after_a_click_step_the_explorer_not_the_notebook(ui, guard: Guard) -> None:
    lab, explorer = ui
    last = lab.nb.eval_json("ex.scrubber.n_checkpoints") - 1
    lab.nb.run(f"ex.scrubber.checkpoint = {last}")
    poll(lambda: _scrubber_checkpoint(explorer), lambda v: v == last)
    embedding = root(explorer, "embedding")
    (target,) = clickable_points(lab.page, embedding, 1)
    click_point(lab.page, embedding, target)
    guard.check(
        explorer.evaluate(
            "(r) => r === document.activeElement || r.contains(document.activeElement)"
        ),
        "the click did not leave the keyboard focus in the explorer",
    )
    lab.page.keyboard.press("ArrowLeft")
    lab.page.keyboard.press("ArrowLeft")
    moved = poll(lambda: _scrubber_checkpoint(explorer), lambda v: v == last - 2)
    guard.check(moved == last - 2, f"two presses of left moved to {moved}, not {last - 2}")
    guard.check(explorer.is_visible(), "the explorer was hidden by the notebook's own keys")
    kernel_value(lab.nb, "ex.scrubber.checkpoint", lambda v: v == last - 2)
    guard.check(
        lab.nb.eval_json("ex.embedding.checkpoint") == last - 2, "the scatter did not follow"
    )
    lab.page.keyboard.press("Escape")
    kernel_value(lab.nb, "ex.embedding.selection", lambda v: v == [])
    guard.assert_clean()


def test_operands_and_neighbours_are_marked(ui, guard: Guard) -> None:
    lab, explorer = ui
    embedding = root(explorer, "embedding")
    last = lab.nb.eval_json("ex.scrubber.n_checkpoints") - 1
    lab.nb.run(
        f"ex.scrubber.checkpoint = {last}\n"
        "labels = np.asarray(run.probe_labels)\n"
        "a = int(np.flatnonzero(labels == 1)[0])\n"
        "group = [int(i) for i in np.flatnonzero(labels == 7)[:6]]\n"
        # through the comparison, as a user would: the explorer marks its operands and
        # highlights the neighbours it reports
        "ex.compare.k = 5\n"
        "ex.compare.a = [a]\n"
        "ex.compare.b = group\n"
        "ex.embedding.trails = True"
    )
    poll(lambda: embedding.get_attribute("data-marks"), lambda v: v == "abh")
    a = lab.nb.eval_json("a")
    origin, _ = canvas_origin(embedding)  # scrolls the scatter into view first
    expected = origin + settled_positions(embedding, [a])[0]
    marker = embedding.locator(".linlens-mark-a circle").first.bounding_box()
    centre = (marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    guard.check(marker is not None, "no A marker on the scatter")
    # the ring is centred on the point
    guard.check(
        abs(centre[1] - expected[1]) < 3 and abs(centre[0] - expected[0]) < 3,
        f"A marker at {centre}, point at {tuple(expected)}",
    )
    guard.check(embedding.locator(".linlens-mark-b text").text_content() == "B (n=6)", "B label")
    guard.check(embedding.locator(".linlens-mark-member-b").count() == 6, "B members ringed")
    guard.check(embedding.locator(".linlens-mark-highlighted").count() == 5, "neighbours")
    guard.check(embedding.locator(".linlens-trail").count() == 2, "trails of A and B")
    guard.check(explorer.locator(".linlens-badge").count() == 0, "duplicate checkpoint badge")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    explorer.scroll_into_view_if_needed()
    lab.page.screenshot(path=str(SCREENSHOTS / "scatter_markers.png"))
    lab.page.set_viewport_size({"width": 1920, "height": 1080})
    lab.page.wait_for_function("() => document.scrollingElement.clientWidth === 1920")
    settled_positions(embedding, [a])
    explorer.scroll_into_view_if_needed()
    lab.page.screenshot(path=str(SCREENSHOTS / "scatter_markers_1920.png"))
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    guard.assert_clean()


def test_metric_colours_match_in_sparkline_and_panel(ui, guard: Guard) -> None:
    lab, explorer = ui
    spark = root(explorer, "scrubber").locator("polyline.linlens-spark-line")
    sparkline = {
        spark.nth(k).get_attribute("data-metric").replace(" ", "_"): spark.nth(k).get_attribute(
            "stroke"
        )
        for k in range(spark.count())
    }
    panel = lab.nb.eval_json(
        "{r.glyph.y: r.glyph.line_color for r in ex.panel_figure.renderers"
        " if type(r.glyph).__name__ == 'Line'}"
    )
    shared = set(sparkline) & set(panel)
    guard.check(len(shared) >= 1, f"no metric in both: {sparkline} / {panel}")
    for name in shared:
        guard.check(sparkline[name] == panel[name], f"{name}: {sparkline[name]} vs {panel[name]}")
    guard.assert_clean()
