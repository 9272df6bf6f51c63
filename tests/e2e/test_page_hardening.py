"""Saved pages in a real browser: hostile names render literally and run nothing; non-finite
numbers leave no blank page; a page whose state is damaged says so, visibly, in the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

import linlens_widgets as ll
from tests.helpers.browser.watch import PageWatch
from tests.widgets.conftest import FakeRun, make_trajectory

pytestmark = pytest.mark.e2e

PWN = "window.__pwned = (window.__pwned || 0) + 1"
#: Every HTML script-data special sequence, and markup that would run code if parsed as HTML.
NAMES = (
    "a</script>b",
    "<!--<script>",
    "c<script>d",
    "e-->f",
    "g]]>h",
    "&lt;i&gt;",
    "nul\x00j",
    "line\u2028sep\u2029k",
    f"</script><script>{PWN}</script>",
    f'<img src=x onerror="{PWN}">',
    f"<!--<script>{PWN}//-->",
)

#: The single-view page shares the explorer's writer; it is tried with the two worst names.
VIEW_NAMES = (1, 8)


def _explorer_page(run: FakeRun, path: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        # class means come from the analysis package, which needs a real run; zeros stand in
        c, d = len(run.classes), int(np.prod(run.image_shape))
        mp.setattr(ll.WeightCompare, "class_means", lambda self, k=None: np.zeros((c, c, d)))
        ex = ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False)
        return ex.save_html(path, max_samples=4)


def _hostile_run(name: str) -> FakeRun:
    """A run whose first class, dataset and a metric are all called ``name``."""
    run = FakeRun(classes=(name, "one", "two"), dataset_name=name)
    for ck in run.checkpoints:
        ck.metrics = dict(ck.metrics) | {name: 0.5}
    return run


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    # one page per name: a later name (such as "-->") must not undo an earlier one's effect
    out = {
        f"explorer {k}": _explorer_page(_hostile_run(name), folder / f"explorer-{k}.html")
        for k, name in enumerate(NAMES)
    }
    for k in VIEW_NAMES:
        run, name = _hostile_run(NAMES[k]), NAMES[k]
        view = ll.EmbeddingView(make_trajectory(run), run=run)
        out[f"view {k}"] = view.save_html(folder / f"view-{k}.html", title=name)
    gaps = FakeRun()
    for k, ck in enumerate(gaps.checkpoints):
        ck.metrics = {"test_acc": [0.5, float("nan"), None, float("inf"), 0.9][k]}
        if k == 2:
            ck.metrics = {}  # recorded at only some checkpoints
    out["gaps"] = _explorer_page(gaps, folder / "gaps.html")
    return out


@pytest.fixture
def tab(browser: Browser) -> Iterator[tuple[Page, PageWatch, list[str]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page, PageWatch().attach(page), dialogs
    context.close()


def _open(page: Page, path: Path) -> None:
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "() => document.querySelector('#linlens-app .linlens-root, #linlens-app .linlens-error')"
    )


@pytest.mark.parametrize(
    ("kind", "k"),
    [("explorer", k) for k in range(len(NAMES))] + [("view", k) for k in VIEW_NAMES],
)
def test_hostile_names_render_literally_and_run_nothing(pages, tab, kind, k):
    page, watch, dialogs = tab
    name = NAMES[k]
    _open(page, pages[f"{kind} {k}"])
    embedding = page.locator(".linlens-root[data-linlens=embedding]").first
    embedding.wait_for(state="visible")
    page.wait_for_timeout(200)  # an injected handler (img onerror) would have run by now
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    errors = page.locator(".linlens-error").all_text_contents()
    assert errors == []
    assert watch.problems() == []
    # the legend shows the class name as text, character for character
    shown = embedding.locator(".linlens-legend-item").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert shown == [name, "one", "two"]
    # the template's scripts (state, code, boot and, for a page that carries a network or a
    # bank, its data) and nothing else; no name became an element
    pieces = page.locator("script.linlens-data").count()
    assert page.locator("script").count() == 3 + pieces
    assert page.locator("img[src=x]").count() == 0
    heading = page.locator("h1").text_content() or ""
    assert heading.endswith(name.replace("\x00", "\ufffd")) or heading.endswith(
        name.replace("\x00", "")
    )


def test_missing_and_non_finite_metrics_draw_no_blank_page(pages, tab):
    page, watch, _ = tab
    _open(page, pages["gaps"])
    scrubber = page.locator(".linlens-root[data-linlens=scrubber]").first
    scrubber.wait_for(state="visible")
    assert page.locator(".linlens-error").count() == 0
    assert watch.problems() == []
    # missing values are drawn as such ("–"), never as NaN or a crash
    state = page.evaluate("window.linlensModels.scrubber.get('_series')")
    assert state[0]["values"] == [0.5, None, None, None, 0.9]
    text = scrubber.text_content() or ""
    assert "NaN" not in text and "Infinity" not in text


def _damaged(source: Path, folder: Path, how: str) -> Path:
    text = source.read_text(encoding="utf-8")
    config = re.compile(
        r'(<script id="linlens-config" type="application/json">)(.*?)(</script>)', re.S
    )
    body = config.search(text).group(2)
    if how == "bare NaN":
        body = body.replace('"height":420', '"height":NaN', 1)
    elif how == "truncated":
        body = body[: len(body) // 2]
    elif how == "no root widget":
        body = body.replace('"root":"explorer"', '"root":"nowhere"', 1)
    elif how == "corrupt array":
        body = re.sub(r'"b64":"[^"]{8}', '"b64":"%%%%!!!!', body, count=1)
    elif how == "broken code":
        text = text.replace("var linlensPage=", "var linlensPage=)(", 1)  # a syntax error
    elif how == "cut short":  # the file ends inside the data script that follows the boot script
        data = text.index('<script class="linlens-data" type="application/json">')
        text = text[: data + (len(text) - data) // 2]
    if how not in ("broken code", "cut short"):
        text = text[: config.search(text).start(2)] + body + text[config.search(text).end(2) :]
    out = folder / f"{how.replace(' ', '-')}.html"
    out.write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize(
    "how", ["bare NaN", "truncated", "no root widget", "corrupt array", "broken code", "cut short"]
)
def test_a_damaged_page_shows_a_visible_error(pages, tab, tmp_path, how):
    page, _, _ = tab
    _open(page, _damaged(pages["gaps"], tmp_path, how))
    box = page.locator("#linlens-app .linlens-error[role=alert]").first
    box.wait_for(state="visible")
    assert "This page could not be shown" in (box.text_content() or "")
    if how == "cut short":
        assert "network data is not valid JSON" in (box.text_content() or "")
    assert box.bounding_box()["height"] > 10
