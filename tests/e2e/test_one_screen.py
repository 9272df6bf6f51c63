"""The explorer on one 1280x720 screen, in JupyterLab with the file browser open and in the saved
page: after a click the scatter, the slider and A's and B's images are all in the viewport; the
points fill the scatter at the first and the last checkpoint; the A marker follows a resize; the
neighbours follow the similarity selector; presentation size scrolls nothing sideways."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page

import linlens_widgets as ll
from tests.helpers.browser.guard import ARTIFACTS_ROOT, Guard
from tests.helpers.browser.runs import embed_seed, setup_cell
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import (
    canvas_origin,
    click_point,
    clickable_points,
    project,
    root,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

SCREEN = {"width": 1280, "height": 720}
# Screenshots go with the test artifacts; LINLENS_UPDATE_SCREENSHOTS=1 writes the documented ones.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("LINLENS_UPDATE_SCREENSHOTS") == "1"
    else ARTIFACTS_ROOT / "screenshots"
)
EXPLORER_CELL = "ex = ll.LensExplorer(run)\nex"
# The kernel's neighbours of sample a at checkpoint position p, straight from ll.metrics.
NEIGHBOURS = """
from linlens_widgets.analysis.weights import run_weights
def metric_neighbours(a, position, k, centered):
    feats = run_weights(run).weight_features(int(traj.checkpoint_ids[position]))
    return ll.metrics.neighbors(feats, a, k, centered=centered).index.tolist()
"""


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    """The explorer in JupyterLab at 1280x720 with the file browser open."""
    session = open_notebook(
        "one_screen.ipynb", [setup_cell(digits_run_path) + NEIGHBOURS, EXPLORER_CELL]
    )
    session.page.set_viewport_size(SCREEN)
    session.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    session.page.wait_for_selector(".jp-FileBrowser", state="visible")
    return session


@pytest.fixture(scope="module")
def saved_page(browser: Browser, digits_run_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """The saved page of the same run at 1280x720."""
    run = ll.Run.load(digits_run_path)
    path = ll.LensExplorer(run).save_html(tmp_path_factory.mktemp("page") / "explorer.html")
    context = browser.new_context(viewport=SCREEN, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch().attach(page)
    page.goto(Path(path).resolve().as_uri())
    yield run, ll.embed(run, seed=embed_seed(), progress=False), page, watch
    context.close()


def _explorer_in(lab) -> Locator:
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=30_000)
    wait_scatter_ready(root(explorer, "embedding"))
    return explorer


def _outside_viewport(page: Page, parts: dict[str, Locator]) -> list[str]:
    """Names of the parts whose box is not wholly inside the viewport."""
    size = page.viewport_size
    out = []
    for name, part in parts.items():
        box = part.bounding_box()
        if box is None:
            out.append(f"{name} (not laid out)")
            continue
        inside = box["x"] >= -1 and box["y"] >= -1
        inside &= box["x"] + box["width"] <= size["width"] + 1
        inside &= box["y"] + box["height"] <= size["height"] + 1
        if not inside:
            out.append(f"{name} at {[round(v) for v in box.values()]}")
    return out


def _click_a_and_b(page: Page, explorer: Locator) -> tuple[int, int]:
    embedding = root(explorer, "embedding")
    compare = root(explorer, "compare")
    a, b = clickable_points(page, embedding, 2)
    click_point(page, embedding, a)
    click_point(page, embedding, b, shift=True)
    page.wait_for_function(
        "([r, a, b]) => r.dataset.a === String(a) && r.dataset.b === String(b)"
        " && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), a, b],
        timeout=15_000,
    )
    return a, b


def _one_screen_problems(page: Page, explorer: Locator) -> list[str]:
    """What of the scatter, the slider, A's and B's images and the similarity is off screen."""
    compare = root(explorer, "compare")
    inputs = compare.locator("canvas[title='input image']")
    parts = {
        "scatter": root(explorer, "embedding").locator("canvas").first,
        "slider": root(explorer, "scrubber").locator("input.linlens-checkpoint"),
        "A's input": inputs.nth(0),
        "B's input": inputs.nth(1),
        "similarity": compare.locator("[data-testid=cosine]"),
    }
    for k, cell in enumerate(compare.locator("[data-testid=cosine-class]").all()):
        parts[f"per-class similarity {k}"] = cell
    problems = _outside_viewport(page, parts)
    weights = compare.locator(".linlens-grid .linlens-cell[data-class] canvas").count()
    if weights < 2:
        problems.append(f"only {weights} W_eff images shown for A and B")
    return problems


def _span(explorer: Locator) -> tuple[float, float]:
    """Fractions of the scatter's width and height that its points span."""
    embedding = root(explorer, "embedding")
    n = int(embedding.evaluate("(r) => r.linlensPointCount()"))
    xy = settled_positions(embedding, range(n))
    _, (width, height) = canvas_origin(embedding)
    spread = xy.max(0) - xy.min(0)
    return float(spread[0] / width), float(spread[1] / height)


def _marker_offset(explorer: Locator, a: int) -> float:
    """Distance in px between the A marker's centre and A's drawn point."""
    embedding = root(explorer, "embedding")
    origin, _ = canvas_origin(embedding)
    point = origin + project(embedding, [a])[0]
    box = embedding.locator(".linlens-mark-a circle").first.bounding_box()
    assert box is not None, "no A marker"
    centre = np.array([box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    return float(np.linalg.norm(centre - point))


def _sideways(page: Page, explorer: Locator) -> list[str]:
    """Elements of the explorer (and its notebook output) that scroll sideways."""
    return explorer.evaluate(
        """(r) => {
          const out = [];
          const boxes = [r, ...r.querySelectorAll('*')];
          const area = r.closest('.jp-OutputArea-output');
          if (area) boxes.push(area);
          for (const n of boxes) {
            if (n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).overflowX !== 'visible'
                && n.clientWidth > 0) out.push(`${n.className} ${n.scrollWidth}>${n.clientWidth}`);
          }
          const page = document.scrollingElement;
          if (page.scrollWidth > page.clientWidth + 1) out.push('the page');
          return out;
        }"""
    )


def _check_one_screen(page: Page, explorer: Locator, guard: Guard, where: str) -> int:
    """The must-shows on one screen; returns A."""
    explorer.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    a, _ = _click_a_and_b(page, explorer)
    problems = _one_screen_problems(page, explorer)
    guard.check(not problems, f"{where}: off screen after a click: {problems}")
    return a


def _set_checkpoint_in_page(page: Page, explorer: Locator, position: int) -> None:
    slider = root(explorer, "scrubber").locator("input.linlens-checkpoint")
    slider.evaluate(
        "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true}));"
        " s.dispatchEvent(new Event('change', {bubbles: true})); }",
        position,
    )
    page.wait_for_function(
        "([r, e]) => r.dataset.checkpoint === String(e)",
        arg=[root(explorer, "embedding").element_handle(), position],
        timeout=10_000,
    )


def _check_fill(page: Page, explorer: Locator, guard: Guard, n_checkpoints: int, where: str):
    for position in (0, n_checkpoints - 1):
        _set_checkpoint_in_page(page, explorer, position)
        sx, sy = _span(explorer)
        guard.check(
            max(sx, sy) >= 0.6,
            f"{where}, checkpoint {position}: points span {sx:.0%} of the width and "
            f"{sy:.0%} of the height",
        )


def _check_raw_neighbours(page: Page, explorer: Locator, guard: Guard, expected: dict) -> None:
    compare = root(explorer, "compare")
    for kind in ("raw", "centred"):
        compare.locator("[data-testid=similarity]").select_option(kind)
        page.wait_for_function(
            "([r, kind]) => { const s = r.querySelector('[data-testid=neighbor-similarity]');"
            " return s && s.dataset.similarity === kind; }",
            arg=[compare.element_handle(), kind],
            timeout=15_000,
        )
        shown = [
            int(s)
            for s in compare.locator(".linlens-nb").evaluate_all(
                "(ns) => ns.map((n) => n.dataset.sample)"
            )
        ]
        guard.check(shown == expected[kind], f"{kind} neighbours {shown} != {expected[kind]}")
    guard.check(expected["raw"] != expected["centred"], "raw and centred neighbours coincide")


def _check_presentation(page: Page, explorer: Locator, guard: Guard, where: str) -> None:
    compare = root(explorer, "compare")
    button = compare.locator("[data-testid=presentation]")
    button.click()
    page.wait_for_function(
        "(r) => r.classList.contains('is-presentation')", arg=explorer.element_handle()
    )
    problems = _sideways(page, explorer)
    sizes = compare.evaluate(
        "(r) => Array.from(r.querySelectorAll('.linlens-grid .linlens-cell[data-class]'))"
        ".map((n) => Math.round(n.getBoundingClientRect().width))"
    )
    button.click()
    guard.check(not problems, f"{where}: presentation size scrolls sideways: {problems}")
    guard.check(len(set(sizes)) <= 1, f"{where}: presentation tiles of unequal widths {sizes}")


def test_one_screen_in_lab(lab, guard: Guard) -> None:
    guard.track(lab.page, lab.watch)
    explorer = _explorer_in(lab)
    page = lab.page
    n_checkpoints = lab.nb.eval_json("ex.scrubber.n_checkpoints")
    _check_fill(page, explorer, guard, n_checkpoints, "JupyterLab")
    a = _check_one_screen(page, explorer, guard, "JupyterLab at 1280x720, file browser open")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explorer_1280.png"))

    # Closing the file browser widens the scatter: the A marker stays on A's point.
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.wait_for_function(
        "() => !document.querySelector('.jp-FileBrowser:not(.lm-mod-hidden)')"
        " || document.querySelector('.jp-FileBrowser').offsetWidth === 0"
    )
    root(explorer, "embedding").locator(".linlens-mark-a").wait_for(state="attached")
    offset = _poll_offset(explorer, a)
    guard.check(offset < 3, f"after the resize the A marker is {offset:.1f}px from A's point")

    position = n_checkpoints - 1
    k = lab.nb.eval_json("ex.compare.k")
    expected = {
        kind: lab.nb.eval_json(f"metric_neighbours({a}, {position}, {k}, {kind == 'centred'})")
        for kind in ("raw", "centred")
    }
    _check_raw_neighbours(page, explorer, guard, expected)
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    _check_presentation(page, explorer, guard, "JupyterLab")

    page.set_viewport_size({"width": 1920, "height": 1080})
    explorer.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    page.wait_for_function("() => document.scrollingElement.clientWidth === 1920")
    page.screenshot(path=str(SCREENSHOTS / "explorer_1920.png"))
    page.set_viewport_size(SCREEN)
    guard.assert_clean()


def _poll_offset(explorer: Locator, a: int, timeout_s: float = 5.0) -> float:
    import time

    deadline = time.monotonic() + timeout_s
    offset = _marker_offset(explorer, a)
    while offset >= 3 and time.monotonic() < deadline:
        explorer.page.wait_for_timeout(100)
        offset = _marker_offset(explorer, a)
    return offset


def test_one_screen_in_the_saved_page(saved_page, guard: Guard) -> None:
    run, traj, page, watch = saved_page
    guard.track(page, watch)
    explorer = root(page, "explorer")
    explorer.wait_for(state="visible")
    wait_scatter_ready(root(explorer, "embedding"))
    n_checkpoints = len(traj.checkpoint_ids)
    _check_fill(page, explorer, guard, n_checkpoints, "saved page")
    a = _check_one_screen(page, explorer, guard, "saved page at 1280x720")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explorer_saved_page.png"))

    page.set_viewport_size({"width": 1000, "height": 720})
    offset = _poll_offset(explorer, a)
    guard.check(offset < 3, f"after the resize the A marker is {offset:.1f}px from A's point")
    page.set_viewport_size(SCREEN)

    from linlens_widgets.analysis.weights import run_weights

    position = n_checkpoints - 1
    feats = run_weights(run).weight_features(int(traj.checkpoint_ids[position]))
    k = int(root(explorer, "compare").locator(".linlens-nb").count()) or 10
    expected = {
        kind: ll.metrics.neighbors(feats, a, k, centered=kind == "centred").index.tolist()
        for kind in ("raw", "centred")
    }
    _check_raw_neighbours(page, explorer, guard, expected)
    _check_presentation(page, explorer, guard, "saved page")
    guard.assert_clean()
