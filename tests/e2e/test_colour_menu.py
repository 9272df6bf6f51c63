"""The scatter's Colour menu in a saved page at 1280×720: choosing "sub-clusters of c" colours
the sub-clusters of c (from "label", and from another class's sub-clusters), and stays chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import root, wait_scatter_ready

pytestmark = pytest.mark.e2e

E, N = 3, 120


@pytest.fixture(scope="module")
def page_path(frontend_built: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single scatter whose classes 1 and 2 have two sub-clusters each (class 0 has none)."""
    import linlens_widgets as ll
    from linlens_widgets.analysis.trajectory import Trajectory

    rng = np.random.default_rng(0)
    labels = np.arange(N) % 3
    groups = np.where(labels == 0, -1, (np.arange(N) // 3) % 2).astype(np.int32)
    positions = rng.uniform(-1, 1, (E, N, 2)).astype(np.float32)
    view = ll.EmbeddingView(Trajectory(positions, epochs=np.arange(E, dtype=float), labels=labels))
    view.color_subclusters(1, tracks=groups)
    view.color = "label"
    return Path(view.save_html(tmp_path_factory.mktemp("page") / "colour_menu.html"))


def test_choosing_sub_clusters_in_the_colour_menu_colours_them(
    browser: Browser, page_path: Path, guard: Guard
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    guard.track(page, PageWatch().attach(page))
    page.goto(page_path.resolve().as_uri())
    embedding = root(page, "embedding")
    wait_scatter_ready(embedding)
    menu = embedding.locator("select.linlens-color")
    offered = [o.get_attribute("value") for o in menu.locator("option").all()]
    guard.check(offered == ["label", "subclusters:1", "subclusters:2"], f"menu {offered}")
    steps = [("subclusters:2", 2), ("label", None), ("subclusters:1", 1), ("subclusters:2", 2)]
    for choice, cls in steps:
        menu.select_option(choice)
        state = page.evaluate(
            "() => { const m = window.linlensModels.embedding;"
            " return [m.get('color'), m.get('groups_class')]; }"
        )
        guard.check(
            menu.input_value() == choice, f"chose {choice}, menu shows {menu.input_value()}"
        )
        expected = "label" if cls is None else "subclusters"
        guard.check(state[0] == expected, f"chose {choice}, colour is {state[0]}")
        if cls is not None:
            guard.check(state[1] == cls, f"chose {choice}, groups_class is {state[1]}")
    guard.assert_clean()
    page.close()
