"""In JupyterLab, a comparison never waits for a kernel that is running another cell: the network
is portable, so the widget's own engine (``js/src/engine/responder.js``) computes the clicked
sample's W_eff in the browser while ``time.sleep`` holds the kernel."""

from __future__ import annotations

import time

import pytest

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import click_point, clickable_points, root, wait_scatter_ready

pytestmark = pytest.mark.e2e

SLEEP_S = 20


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    return open_notebook(
        "busy.ipynb", [setup_cell(digits_run_path), "ex = ll.LensExplorer(run)\nex"]
    )


def test_click_is_compared_while_the_kernel_sleeps(lab, guard: Guard) -> None:
    guard.track(lab.page, lab.watch)
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=30_000)
    embedding = root(explorer, "embedding")
    compare = root(explorer, "compare")
    wait_scatter_ready(embedding)
    guard.check(lab.nb.eval_json("ex.compare._network is not None"), "no network for the engine")

    busy = lab.nb.append_cell(f"import time\ntime.sleep({SLEEP_S})")
    lab.nb.cell(busy).locator(".jp-InputArea-editor .cm-content").click()
    lab.page.keyboard.press("Shift+Enter")
    started = time.monotonic()
    lab.nb.wait_kernel_busy()  # the kernel is now inside time.sleep
    explorer.scroll_into_view_if_needed()
    picks = clickable_points(lab.page, embedding, 2)
    for i in picks:
        click_point(lab.page, embedding, i)
        clicked = time.monotonic()
        lab.page.wait_for_function(
            "([r, a]) => r.dataset.a === String(a) && r.dataset.state === 'ready'",
            arg=[compare.element_handle(), i],
            timeout=1_000,
        )
        waited = time.monotonic() - clicked
        guard.check(waited < 1.0, f"sample {i}: the comparison took {waited:.2f} s")
    guard.check(
        time.monotonic() - started < SLEEP_S, "the clicks were answered only after the kernel"
    )
    lab.nb.wait_kernel_idle(SLEEP_S + 30)
    guard.assert_clean()
