"""The demo notebook, opened from its saved widget state, compares before its kernel runs.

``linlens demo`` executes its notebook once with the widget state saved. Opened in JupyterLab,
the explorer is drawn from that state, and the comparison is computed by the widget's own
engine from the network, probe means and neighbour tables the state carries: centred, with
neighbours, without any cell having run in the new kernel.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from linlens_widgets import cli
from tests.helpers.browser.chromium import VIEWPORT
from tests.helpers.browser.guard import Guard
from tests.helpers.browser.lab import LabServer
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import root

pytestmark = pytest.mark.e2e

FIRST_VIEW_S = 15.0
"""Budget from opening the URL to a drawn centred comparison (a loaded 2-core box)."""


@pytest.fixture(scope="module")
def saved_notebook(
    lab_server: LabServer, digits_run_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    name = "saved_demo.ipynb"
    path = lab_server.root_dir / name
    cli.write_demo_notebook(path, digits_run_path)
    with pytest.MonkeyPatch.context() as patch:  # sign it in the server's data folder
        patch.setenv("JUPYTER_DATA_DIR", str(lab_server.base_dir / "data"))
        assert cli.execute_demo_notebook(path, timeout_s=300)
    return name


def test_saved_explorer_compares_centred_before_any_cell_runs(
    browser: Browser, lab_server: LabServer, saved_notebook: str, guard: Guard
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = PageWatch().attach(page)
    guard.track(page, watch)
    started = time.monotonic()
    page.goto(lab_server.notebook_url(saved_notebook), wait_until="domcontentloaded")
    compare = root(page, "compare")
    compare.wait_for(state="attached", timeout=60_000)
    page.wait_for_function(
        "(r) => r.dataset.state === 'ready' && r.dataset.similarity === 'centred'",
        arg=compare.element_handle(),
        timeout=60_000,
    )
    shown = time.monotonic() - started
    cosine = compare.locator('[data-testid="cosine"]')
    guard.check(cosine.get_attribute("data-similarity") == "centred", "not the centred cosine")
    guard.check("centred" in compare.inner_text(), "the comparison does not say it is centred")
    neighbours = compare.locator('[data-testid="neighbors"] .linlens-nb[data-sample]')
    neighbours.first.wait_for(state="attached", timeout=10_000)
    agreement = compare.locator('[data-testid="neighbor-agreement"]').get_attribute("data-value")
    guard.check(agreement not in (None, ""), "no neighbour agreement shown")
    executed = page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-InputPrompt'))"
        ".map((e) => e.textContent.trim())"
    )
    guard.check(
        all("*" not in p for p in executed), f"a cell was running while measured: {executed}"
    )
    print(f"saved notebook: centred comparison drawn {shown:.1f} s after opening the URL")
    guard.check(shown < FIRST_VIEW_S, f"the first comparison took {shown:.1f} s")
    context.close()
    guard.assert_clean()
