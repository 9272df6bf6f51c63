"""After a page reload the Bokeh metrics panel's cursor is where the checkpoint slider is.

The cursor follows the checkpoint in the kernel (``LensExplorer`` moves the panel's ``Span``), so
a reloaded page, which draws the widgets again from the kernel's state, shows the cursor at the
slider's checkpoint, not at the checkpoint the explorer opened on.
"""

from __future__ import annotations

import pytest

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import BOKEH_CURSOR_JS, root, wait_scatter_ready

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    return open_notebook(
        "reload.ipynb", [setup_cell(digits_run_path), "ex = ll.LensExplorer(run)\nex"]
    )


def _explorer_shown(lab):
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=60_000)
    wait_scatter_ready(root(explorer, "embedding"))
    return explorer


def test_cursor_is_at_the_slider_after_a_reload(lab, guard: Guard) -> None:
    from linlens_widgets import plots

    guard.track(lab.page, lab.watch)
    explorer = _explorer_shown(lab)
    slider = root(explorer, "scrubber").locator("input[type=range]")
    slider.focus()
    lab.page.keyboard.press("Home")
    lab.page.keyboard.press("ArrowRight")
    lab.page.keyboard.press("ArrowRight")
    lab.page.wait_for_timeout(800)  # the checkpoint syncs to the kernel, which moves the cursor
    k = lab.nb.eval_json("ex.scrubber.checkpoint")
    want = lab.nb.eval_json("float(ex._cursor_xs[ex.scrubber.checkpoint])")
    guard.check(k == 2, f"the slider is at checkpoint {k}, expected 2")
    # saved first, as a user's notebook would be (the test server does not autosave), so the
    # reloaded page has the explorer's output to draw from the kernel's widget state
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab.page.wait_for_timeout(1500)
    lab.page.reload(wait_until="domcontentloaded")
    lab.nb.wait_kernel_idle(90)
    explorer = _explorer_shown(lab)
    lab.page.wait_for_function(
        f"() => ({BOKEH_CURSOR_JS})({plots.CURSOR_NAME!r}) !== null", timeout=30_000
    )
    got = lab.page.evaluate(BOKEH_CURSOR_JS, plots.CURSOR_NAME)
    value = root(explorer, "scrubber").locator("input[type=range]").input_value()
    guard.check(int(value) == k, f"the reloaded slider shows {value}, the kernel {k}")
    guard.check(abs(got - want) < 1e-9, f"cursor at {got}, the slider's checkpoint is at {want}")
    guard.assert_clean()
