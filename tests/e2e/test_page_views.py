"""The saved page's comparison at 1280×720: the contributions view, the presentation size and the
colour scale.

The switch between W_eff images and contribution images (W_eff ⊙ x) redraws the images and says
which it shows, while the scores f stay the same; the presentation size enlarges the text and
still fits: no label overlaps another, none is cut, nothing scrolls sideways. The colour scale
"this checkpoint" follows the shown checkpoint's W_eff, "all checkpoints" is one range for the
whole run, and the colour bar says which.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.pixels import element_pixels
from tests.helpers.browser.watch import PageWatch
from tests.helpers.browser.widgets import (
    canvas_origin,
    hover_point,
    readability_problems,
    root,
    scatter_canvas,
    settled_positions,
    wait_scatter_ready,
)

MINUS = "\u2212"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page_path(digits_run_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import linlens_widgets as ll

    run = ll.Run.load(digits_run_path)
    return Path(ll.LensExplorer(run).save_html(tmp_path_factory.mktemp("page") / "views.html"))


@pytest.fixture
def compare(browser: Browser, page_path: Path, guard: Guard):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    guard.track(page, PageWatch().attach(page))
    page.goto(page_path.resolve().as_uri())
    explorer = root(page, "explorer")
    explorer.wait_for(state="visible")
    wait_scatter_ready(root(explorer, "embedding"))
    cmp = root(explorer, "compare")
    _ready(page, cmp)
    yield page, explorer, cmp
    page.close()


def _ready(page, cmp) -> None:
    page.wait_for_function(
        "(r) => r.dataset.state === 'ready' && !Array.from("
        "r.querySelectorAll('.linlens-nb-label')).some((n) => n.textContent === '…')",
        arg=cmp.element_handle(),
        timeout=15_000,
    )


def _scores(cmp) -> list[str]:
    return cmp.locator(".linlens-logit").all_inner_texts()


def test_contributions_view_redraws_the_images_and_keeps_the_scores(compare, guard) -> None:
    page, _, cmp = compare
    image = cmp.locator(".linlens-cell[data-class] canvas").first
    before, scores = element_pixels(image), _scores(cmp)
    cmp.locator("[data-testid=view]").select_option("contributions")
    page.wait_for_function(
        "(r) => Array.from(r.querySelectorAll('.linlens-scalebar-label'))"
        ".some((n) => n.textContent.includes('W_eff ⊙ x'))",
        arg=cmp.element_handle(),
        timeout=5_000,
    )
    _ready(page, cmp)
    after = element_pixels(image)
    guard.check(not np.array_equal(before, after), "the images did not change")
    guard.check(_scores(cmp) == scores, "the scores changed with the view")
    note = cmp.locator(".linlens-scale-note").inner_text()
    guard.check("f_c = score for class c" in note, f"legend {note!r}")
    guard.check(
        page.evaluate("() => window.linlensModels.compare.get('view')") == "contributions",
        "the view trait did not follow the switch",
    )
    guard.assert_clean()


def test_presentation_size_is_larger_and_still_fits_at_1280(compare, guard) -> None:
    page, explorer, cmp = compare

    def size() -> float:
        return float(
            cmp.locator(".linlens-classname").first.evaluate(
                "(n) => parseFloat(getComputedStyle(n).fontSize)"
            )
        )

    normal = size()
    cmp.locator("[data-testid=presentation]").click()
    page.wait_for_function(
        "(r) => r.classList.contains('is-presentation')",
        arg=explorer.element_handle(),
        timeout=5_000,
    )
    _ready(page, cmp)
    guard.check(size() > normal, f"class names {size()} px, not larger than {normal} px")
    problems = readability_problems(cmp, explorer, "in presentation size")
    guard.check(not problems, "; ".join(problems))
    guard.assert_clean()


def test_saved_comparison_is_readable_and_marked_at_1280(compare, guard) -> None:
    """The saved page at 1280×720, normal size: every label readable, A, B and the neighbours
    marked on the scatter."""
    page, explorer, cmp = compare
    problems = readability_problems(cmp, explorer, "at 1280x720")
    guard.check(not problems, "; ".join(problems))
    embedding = root(explorer, "embedding")
    page.wait_for_function(
        "(e) => e.querySelectorAll('.linlens-mark-highlighted').length > 0",
        arg=embedding.element_handle(),
        timeout=10_000,
    )
    for mark in ("a", "b"):
        shown = embedding.locator(f".linlens-mark-{mark} text").first.text_content()
        guard.check(shown == mark.upper(), f"{mark.upper()} marker reads {shown!r}")
    k = int(page.evaluate("() => window.linlensModels.compare.get('k')"))
    highlighted = embedding.locator(".linlens-mark-highlighted").count()
    guard.check(highlighted == k, f"{highlighted} neighbours ringed, expected {k}")
    guard.assert_clean()


MARKS_JS = """() => Object.fromEntries(
  performance.getEntriesByType('mark').filter((m) => m.name.startsWith('linlens:'))
    .map((m) => [m.name, m.startTime]))"""


def test_the_first_scatter_is_drawn_before_the_network_is_unpacked(compare, guard) -> None:
    """The page's marks come in the order that keeps the first draw short: the first frame (the
    2D preview) is drawn from the state alone; the thumbnails (``linlens:later``) and then the
    carried network (most of the page's bytes, in the data script after the boot script) are
    unpacked only after the scatter's first frame, even though the comparison asks for its
    samples while it renders."""
    page, _, _ = compare
    marks = page.evaluate(MARKS_JS)
    order = [
        "linlens:mount",
        "linlens:unpacked",
        "linlens:preview",
        "linlens:scatter",
        "linlens:later",
        "linlens:unpacking",
        "linlens:network",
    ]
    missing = [name for name in order if name not in marks]
    guard.check(not missing, f"page marks missing: {missing} (got {sorted(marks)})")
    if not missing:
        got = sorted(order, key=marks.__getitem__)
        guard.check(got == order, f"page marks in the order {got}, expected {order}: {marks}")
    guard.assert_clean()


KEEP_PREVIEW = """
new MutationObserver((records) => {
  for (const r of records) for (const n of r.removedNodes)
    if (n.classList && n.classList.contains('linlens-preview') && !window.__linlensPreview)
      window.__linlensPreview = n.toDataURL('image/png');
}).observe(document, {childList: true, subtree: true});
"""


def test_the_first_frame_is_drawn_before_webgl_and_is_the_same_scatter(
    browser: Browser, page_path: Path, guard
) -> None:
    """The first frame (a 2D preview, drawn before the WebGL scatter starts) shows every point
    where and in the colour the WebGL scatter then draws it, and goes once that one has drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    guard.track(page, PageWatch().attach(page))
    page.add_init_script(KEEP_PREVIEW)
    page.goto(page_path.resolve().as_uri())
    embedding = root(root(page, "explorer"), "embedding")
    wait_scatter_ready(embedding)
    page.wait_for_function("() => window.__linlensPreview", timeout=10_000)
    marks = page.evaluate(MARKS_JS)
    guard.check(
        marks.get("linlens:preview", 1e9) < marks.get("linlens:scatter", -1),
        f"the preview is not drawn before the WebGL scatter: {marks}",
    )
    canvases = embedding.locator("canvas").count()
    guard.check(canvases == 1, f"{canvases} canvases left in the scatter, expected the WebGL one")
    page.mouse.move(1270, 710)  # no tooltip over the points
    n = int(embedding.evaluate("(r) => r.linlensPointCount()"))
    xy = np.rint(settled_positions(embedding, range(n))).astype(int)
    webgl = element_pixels(scatter_canvas(embedding)).astype(int)
    png = page.evaluate("() => window.__linlensPreview").split(",", 1)[1]
    preview = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGBA")).astype(int)
    height, width = min(webgl.shape[0], preview.shape[0]), min(webgl.shape[1], preview.shape[1])
    inside = [(x, y) for x, y in xy if 0 <= x < width and 0 <= y < height]
    drawn = [preview[y, x, 3] > 200 for x, y in inside]
    same = [np.abs(preview[y, x, :3] - webgl[y, x]).max() <= 40 for x, y in inside]
    guard.check(len(inside) > 0.95 * n, f"only {len(inside)} of {n} points inside the canvas")
    guard.check(np.mean(drawn) > 0.98, f"the preview draws {np.mean(drawn):.1%} of the points")
    # A, B and their neighbours are ringed and labelled over the WebGL scatter only.
    guard.check(np.mean(same) > 0.9, f"{np.mean(same):.1%} of the points have the WebGL colour")
    page.close()
    guard.assert_clean()


def _colour_bar(cmp) -> tuple[str, float, float]:
    """What the A and B colour bar states: the scale's name, and its low and high ends."""
    low, high = cmp.locator("[data-testid=scale-weights] .linlens-scalebar-label").all_inner_texts()
    name = cmp.locator("[data-testid=scale-name]").inner_text()

    def number(text: str) -> float:  # "A, B W_eff −0.153" / "+0.153" / "+2.1e−3"
        return float(text.split()[-1].replace(MINUS, "-").replace("+", ""))

    return name, number(low), number(high)


def _show_checkpoint(page, explorer, cmp, key: str) -> int:
    """Move the checkpoint slider with Home or End and wait until the comparison is drawn there."""
    slider = root(explorer, "scrubber").locator("input.linlens-checkpoint")
    slider.focus()
    page.keyboard.press(key)
    checkpoint = int(slider.input_value())
    page.wait_for_function(
        "([r, k]) => r.dataset.checkpoint === String(k) && r.dataset.state === 'ready'",
        arg=[cmp.element_handle(), checkpoint],
        timeout=15_000,
    )
    return checkpoint


def _settled_bar(page, cmp, scale: str) -> tuple[str, float, float]:
    """The colour bar once the comparison is drawn on `scale` with every checkpoint it needs."""
    page.wait_for_function(
        "([r, scale]) => r.dataset.state === 'ready' && r.dataset.scale === scale && !(r"
        ".querySelector('[data-testid=scale-name]')?.textContent ?? 'loaded').includes('loaded')",
        arg=[cmp.element_handle(), scale],
        timeout=60_000,
    )
    return _colour_bar(cmp)


def test_colour_scale_of_all_checkpoints_is_one_range_for_the_run(compare, guard) -> None:
    """The colour scale switch. Under "this checkpoint" the colour bar's range follows the shown
    checkpoint (W_eff grows during training, so the first and the last checkpoint differ); under
    "all checkpoints" it is one range at both, at least as wide as either checkpoint's own, and
    the bar says "all checkpoints". The numbers are read from the bar's text."""
    page, explorer, cmp = compare
    readings: dict[tuple[str, int], tuple[str, float, float]] = {}
    for scale, label in (("checkpoint", "this checkpoint"), ("run", "all checkpoints")):
        cmp.locator("[data-testid=scale]").select_option(scale)
        guard.check(
            page.evaluate("() => window.linlensModels.compare.get('scale')") == scale,
            f"the scale trait did not follow the switch to {scale!r}",
        )
        for key in ("Home", "End"):
            checkpoint = _show_checkpoint(page, explorer, cmp, key)
            readings[scale, checkpoint] = bar = _settled_bar(page, cmp, scale)
            where = f"{scale} at checkpoint {checkpoint}"
            guard.check(bar[0] == f"(scale: {label})", f"{where}: the bar says {bar[0]!r}")
            guard.check(bar[1] == -bar[2] and bar[2] > 0, f"{where}: range {bar[1:]}")
    shown = sorted({k for _, k in readings})
    guard.check(len(shown) == 2, f"Home and End showed checkpoints {shown}")
    first, last = shown
    own = {k: readings["checkpoint", k][2] for k in (first, last)}
    run = {k: readings["run", k][2] for k in (first, last)}
    guard.check(
        abs(own[last] - own[first]) > 0.05 * max(own.values()),
        f"this checkpoint: the range is ±{own[first]} at the first checkpoint and ±{own[last]} at "
        "the last: it does not follow the checkpoint",
    )
    guard.check(
        run[first] == run[last],
        f"all checkpoints: ±{run[first]} at the first checkpoint but ±{run[last]} at the last",
    )
    # stated with three significant digits: compare within that rounding
    widest = max(own.values())
    guard.check(
        run[first] >= widest * (1 - 5e-3),
        f"all checkpoints: ±{run[first]} is narrower than a single checkpoint's ±{widest}",
    )
    guard.assert_clean()


def _box(locator) -> tuple[float, float, float, float]:
    """[left, top, right, bottom] of an element in page px."""
    b = locator.bounding_box()
    assert b is not None, "the element is not laid out"
    return b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_hover_tooltip_leaves_the_a_and_b_labels_uncovered(compare, guard) -> None:
    """Hovering the points whose tooltip would usually (right of and below the point) land on B's
    label: the tooltip covers neither A's nor B's label."""
    page, explorer, _ = compare
    embedding = root(explorer, "embedding")
    page.wait_for_function(
        "(e) => e.querySelector('.linlens-mark-a text') && e.querySelector('.linlens-mark-b text')",
        arg=embedding.element_handle(),
        timeout=10_000,
    )
    n = int(embedding.evaluate("(r) => r.linlensPointCount()"))
    origin, _ = canvas_origin(embedding)
    xy = settled_positions(embedding, range(n)) + origin
    labels = {k: _box(embedding.locator(f".linlens-mark-{k} text").first) for k in "ab"}
    left, top, right, bottom = labels["b"]
    # the usual place spans [x + 12, x + 12 + w] x [y - 12, y - 12 + h], w and h about 160 x 70
    near = (
        (xy[:, 0] > left - 170)
        & (xy[:, 0] < right - 12)
        & (xy[:, 1] > top - 58)
        & (xy[:, 1] < bottom + 12)
    )
    candidates = np.flatnonzero(near)
    candidates = candidates[np.argsort(np.abs(xy[candidates] - [left - 60, top]).sum(1))]
    hovered = 0
    for i in candidates[:10]:
        if not hover_point(page, embedding, int(i)):
            continue
        hovered += 1
        tip = _box(embedding.locator(".linlens-tooltip"))
        for k in "ab":
            guard.check(
                not _overlap(tip, labels[k]),
                f"hovering #{i}: the tooltip covers {k.upper()}'s label",
            )
    guard.check(
        hovered > 0, f"none of the {len(candidates)} points beside B's label could be hovered"
    )
    guard.assert_clean()
