"""EmbeddingView in JupyterLab: points on a WebGL canvas, box and lasso selections reach the kernel,
and a broken buffer shows an error in the widget instead of a blank cell."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.pixels import element_pixels, foreground_mask
from tests.helpers.browser.regions import find_region
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import (
    canvas_origin,
    drag_path,
    kernel_value,
    points_drawn,
    root,
    scatter_canvas,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

VIEW_CELL = "view = ll.EmbeddingView(traj, run=run)\nview"


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    """A notebook showing ``view = ll.EmbeddingView(traj, run=run)`` in cell 1."""
    return open_notebook("embedding.ipynb", [setup_cell(digits_run_path), VIEW_CELL])


@pytest.fixture
def ui(lab, guard: Guard):
    guard.track(lab.page, lab.watch)
    embedding = root(lab.nb.cell(1), "embedding")
    wait_scatter_ready(embedding)
    return lab, embedding


def _all_positions(lab, embedding) -> np.ndarray:
    n = lab.nb.eval_json("view.n_points")
    return settled_positions(embedding, range(n))


def _clear_selection(lab, embedding) -> None:
    embedding.get_by_role("button", name="Clear selection").click()
    kernel_value(lab.nb, "view.selection", lambda v: v == [])


def test_scatter_draws_points_in_lab(ui, guard: Guard) -> None:
    lab, embedding = ui
    canvases = embedding.locator("canvas").count()
    guard.check(canvases == 1, f"EmbeddingView should hold one canvas, found {canvases}")
    # A canvas that already holds a context returns it (or null for another kind): no side effect.
    webgl = scatter_canvas(embedding).evaluate(
        "(c) => !!(c.getContext('webgl2') || c.getContext('webgl'))"
    )
    guard.check(webgl, "the scatter's canvas does not hold a WebGL context")
    image = element_pixels(scatter_canvas(embedding))
    drawn = foreground_mask(image).mean()
    guard.check(drawn > 0.005, f"scatter canvas is blank: {drawn:.4%} non-background pixels")
    n = lab.nb.eval_json("view.n_points")
    fraction = points_drawn(embedding, range(n))
    guard.check(
        fraction > 0.95,
        f"only {fraction:.1%} of the {n} points have drawn pixels at their projected positions",
    )
    guard.assert_clean()


def test_box_select_sets_kernel_selection(ui, guard: Guard) -> None:
    lab, embedding = ui
    _clear_selection(lab, embedding)
    embedding.get_by_role("button", name="Box select").click()
    points = _all_positions(lab, embedding)
    origin, size = canvas_origin(embedding)
    polygon, expected = find_region(points, size, shape="rectangle", min_points=4)
    corners = origin + polygon[[0, 2]]  # top-left to bottom-right
    drag_path(lab.page, corners)
    selection = kernel_value(lab.nb, "view.selection", lambda v: len(v) > 0)
    guard.check(
        selection == expected.tolist(),
        f"box over {polygon.round(1).tolist()} selected {selection} in the kernel, "
        f"expected the {len(expected)} points inside it: {expected.tolist()}",
    )
    moved = np.abs(_all_positions(lab, embedding) - points).max()
    guard.check(moved < 0.5, f"the box drag moved the camera by {moved:.1f}px")
    embedding.get_by_role("button", name="Pan and zoom").click()
    guard.assert_clean()


def _lasso_and_check(lab, embedding, guard: Guard, *, modifier: str | None, seed: int) -> None:
    """Draw an octagon lasso (with ``modifier`` held) and compare the kernel's selection."""
    points = _all_positions(lab, embedding)
    origin, size = canvas_origin(embedding)
    polygon, expected = find_region(points, size, shape="octagon", min_points=3, seed=seed)
    path = origin + np.vstack([polygon, polygon[:1]])
    drag_path(lab.page, path, modifier=modifier)
    selection = kernel_value(lab.nb, "view.selection", lambda v: len(v) > 0)
    how = f"{modifier}+drag lasso" if modifier else "lasso tool"
    guard.check(
        selection == expected.tolist(),
        f"{how} {polygon.round(1).tolist()} selected {selection} in the kernel, "
        f"expected the {len(expected)} points inside it: {expected.tolist()}",
    )
    moved = np.abs(_all_positions(lab, embedding) - points).max()
    guard.check(moved < 0.5, f"the {how} moved the camera by {moved:.1f}px")


def test_lasso_tool_sets_kernel_selection(ui, guard: Guard) -> None:
    lab, embedding = ui
    _clear_selection(lab, embedding)
    embedding.get_by_role("button", name="Lasso select").click()
    _lasso_and_check(lab, embedding, guard, modifier=None, seed=1)
    embedding.get_by_role("button", name="Pan and zoom").click()
    guard.assert_clean()


def test_shift_drag_lasso_sets_kernel_selection(ui, guard: Guard) -> None:
    """Shift+drag lassoes in pan mode, inside a notebook (where shift+drag also selects cells)."""
    lab, embedding = ui
    _clear_selection(lab, embedding)
    embedding.get_by_role("button", name="Pan and zoom").click()
    _lasso_and_check(lab, embedding, guard, modifier="Shift", seed=2)
    guard.assert_clean()


def test_kernel_selection_shows_in_browser(ui, guard: Guard) -> None:
    lab, embedding = ui
    lab.nb.run("view.selection = [0, 1, 2, 3, 4]")
    lab.page.wait_for_function(
        "(r) => r.dataset.selected === '5'", arg=embedding.element_handle(), timeout=10_000
    )
    status = embedding.locator(".linlens-status").inner_text()
    guard.check("5 selected" in status, f"status does not show the kernel's selection: {status!r}")
    _clear_selection(lab, embedding)
    guard.assert_clean()


def test_bad_positions_buffer_shows_error_not_blank(ui, guard: Guard) -> None:
    lab, _ = ui
    cell = lab.nb.run(
        "bad = ll.EmbeddingView(traj, run=run)\n"
        "short = np.zeros(10, np.float32)\n"
        "bad._positions = {'view': memoryview(short).cast('B'), 'dtype': 'float32',\n"
        "                  'shape': [traj.positions.shape[0], traj.positions.shape[1], 2]}\n"
        "bad"
    ).cell
    broken = root(cell, "embedding")
    error = broken.locator(".linlens-error")
    error.wait_for(state="visible", timeout=15_000)
    text = error.inner_text()
    guard.check(
        "positions" in text.lower(),
        f"the error shown for a too-short positions buffer does not name it: {text!r}",
    )
    guard.check(broken.is_visible(), "the broken widget's root is not visible")
    guard.assert_clean()
