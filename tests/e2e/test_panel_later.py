"""A large run's metrics panel, drawn in the background, appears in JupyterLab after the scatter.

Above ``LIVE_TABLES_MAX_PROBES`` probes the explorer shows a pending panel and draws the Bokeh
panel in a thread; BokehJS is sent once the cell has finished (not before the scatter's first
frame), and the drawn panel replaces the pending one only after it, since jupyter_bokeh's view
needs BokehJS when it is created. The threshold is lowered in the notebook so that the small
digits run takes that path.
"""

from __future__ import annotations

import pytest

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import BOKEH_CURSOR_JS, root, wait_scatter_ready

pytestmark = pytest.mark.e2e

LARGE_RUN_PATH = (
    "from linlens_widgets.widgets import explorer as _explorer\n"
    "_explorer.LIVE_TABLES_MAX_PROBES = 10  # this run takes the large runs' path\n"
    "ex = ll.LensExplorer(run)\n"
    "ex"
)


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    return open_notebook("later.ipynb", [setup_cell(digits_run_path), LARGE_RUN_PATH])


def test_the_panel_drawn_later_is_shown_and_follows_the_slider(lab, guard: Guard) -> None:
    from linlens_widgets import plots

    guard.track(lab.page, lab.watch)
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=60_000)
    wait_scatter_ready(root(explorer, "embedding"))
    lab.page.wait_for_function(
        f"() => ({BOKEH_CURSOR_JS})({plots.CURSOR_NAME!r}) !== null", timeout=60_000
    )
    shown = lab.nb.eval_json(
        "[ex._pending is not None, ex.panel_figure is not None, ex.children[-1] is ex.panel]"
    )
    guard.check(shown == [True, True, True], f"pending path, drawn, shown: {shown}")
    slider = root(explorer, "scrubber").locator("input[type=range]")
    slider.focus()
    lab.page.keyboard.press("Home")
    want = lab.nb.eval_json("float(ex._cursor_xs[0])")
    lab.page.wait_for_function(
        f"(want) => Math.abs(({BOKEH_CURSOR_JS})({plots.CURSOR_NAME!r}) - want) < 1e-9",
        arg=want,
        timeout=10_000,
    )
    guard.assert_clean()


def test_the_panel_drawn_later_is_drawn_again_after_a_reload(lab, guard: Guard) -> None:
    """BokehJS is the cell's second output (after the explorer); a reloaded page still runs it
    before the panel's view is made from the kernel's widget state."""
    from linlens_widgets import plots

    guard.track(lab.page, lab.watch)
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab.page.wait_for_timeout(1500)
    lab.page.reload(wait_until="domcontentloaded")
    lab.nb.wait_kernel_idle(90)
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=60_000)
    wait_scatter_ready(root(explorer, "embedding"))
    lab.page.wait_for_function(
        f"() => ({BOKEH_CURSOR_JS})({plots.CURSOR_NAME!r}) !== null", timeout=30_000
    )
    guard.assert_clean()
