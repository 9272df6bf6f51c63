"""The single-view saved page (``EmbeddingView.save_html``) at 1280×720: its caption follows the
shown checkpoint, counts checkpoints as the slider does (from 1, "k/E"), and says nothing the
data does not hold (no "step 0" for a trajectory recorded without steps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import root, wait_scatter_ready

pytestmark = pytest.mark.e2e

E, N = 5, 200


@pytest.fixture(scope="module")
def page_path(frontend_built: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import linlens_widgets as ll
    from linlens_widgets.analysis.trajectory import Trajectory

    rng = np.random.default_rng(0)
    positions = rng.uniform(-1, 1, (E, N, 2)).astype(np.float32)
    epochs = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    view = ll.EmbeddingView(Trajectory(positions, epochs=epochs, labels=np.arange(N) % 3))
    view.checkpoint = 3
    return Path(view.save_html(tmp_path_factory.mktemp("page") / "single.html"))


def _caption(page) -> str:
    return root(page, "embedding").locator(".linlens-badge").inner_text()


def test_caption_follows_the_checkpoint_and_counts_like_the_slider(
    browser: Browser, page_path: Path, guard: Guard
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    guard.track(page, PageWatch().attach(page))
    page.goto(page_path.resolve().as_uri())
    wait_scatter_ready(root(page, "embedding"))
    guard.check(_caption(page) == "checkpoint 4/5 · epoch 2", f"caption {_caption(page)!r}")
    for k in (0, E - 1):
        page.evaluate(f"() => window.linlensModels.embedding.set('checkpoint', {k})")
        page.wait_for_function(
            "(k) => document.querySelector('.linlens-badge').textContent"
            ".startsWith(`checkpoint ${k + 1}/`)",
            arg=k,
            timeout=5_000,
        )
    guard.check(_caption(page) == "checkpoint 5/5 · epoch 4", f"caption {_caption(page)!r}")
    text = page.locator("body").inner_text()
    guard.check("checkpoint 4" not in text, "a caption still names the checkpoint saved")
    guard.check("step" not in text, "a step the data lacks is shown")
    guard.assert_clean()
    page.close()
