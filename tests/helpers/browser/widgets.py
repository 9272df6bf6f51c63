"""The widgets' DOM contract, as a test reads it: roots, the scatter canvas, projections, drags.

Contract (see the widgets' docs): each widget renders ``div.linlens-root[data-linlens=<kind>]``;
the scatter's root exposes ``linlensProject(i) -> [x, y]`` (CSS px from the canvas's top-left at
the shown checkpoint), ``linlensPointCount()`` and ``data-hovered`` (the point under the cursor,
the one a click picks); the scrubber is ``input.linlens-checkpoint``; errors show in
``.linlens-error``.

Click targets come from the positions the page draws, never from the layout's shape: points are
tried most isolated first, and a click is made only once the scatter reports the aimed-at point
under the cursor.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.helpers.browser.notebook import LabNotebook
from tests.helpers.browser.pixels import element_pixels, foreground_mask


def root(scope: Locator | Page, kind: str) -> Locator:
    """The root element of the (first) widget of ``kind`` inside ``scope``."""
    return scope.locator(f".linlens-root[data-linlens={kind}]").first


def scatter_canvas(embedding: Locator) -> Locator:
    """The scatter's single WebGL canvas."""
    return embedding.locator("canvas").first


def wait_scatter_ready(embedding: Locator, timeout_ms: float = 30_000) -> None:
    """Wait until the scatter drew its first frame (``data-ready``) and its canvas has a size."""
    embedding.wait_for(state="visible", timeout=timeout_ms)
    embedding.page.wait_for_function(
        "(r) => r.dataset.ready === 'true' && typeof r.linlensProject === 'function'"
        " && r.querySelector('canvas').getBoundingClientRect().width > 0",
        arg=embedding.element_handle(),
        timeout=timeout_ms,
    )


def project(embedding: Locator, indices: Sequence[int]) -> np.ndarray:
    """CSS-px positions (len, 2) of points ``indices`` from the canvas's top-left, at the shown
    checkpoint."""
    xy = embedding.evaluate(
        "(root, idx) => idx.map((i) => root.linlensProject(i))", [int(i) for i in indices]
    )
    return np.asarray(xy, dtype=float).reshape(-1, 2)


def settled_positions(
    embedding: Locator, indices: Sequence[int], timeout_s: float = 5.0
) -> np.ndarray:
    """``project(indices)`` once the camera and any transition have come to rest.

    The scatter animates checkpoint changes and view fits; aiming a drag at positions read during an
    animation would miss, so read until two reads 150 ms apart agree to 0.1 px.
    """
    previous = project(embedding, indices)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        embedding.page.wait_for_timeout(150)
        current = project(embedding, indices)
        if np.abs(current - previous).max(initial=0.0) < 0.1:
            return current
        previous = current
    raise AssertionError(f"the scatter's points kept moving for {timeout_s:.0f} s")


def canvas_origin(embedding: Locator) -> tuple[np.ndarray, tuple[float, float]]:
    """Page coordinates of the canvas's top-left and its CSS size (width, height).

    Scrolls the canvas into view first: running a cell scrolls the notebook, and a drag aimed
    at an element outside the viewport reaches nothing.
    """
    canvas = scatter_canvas(embedding)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None, "the scatter canvas is not laid out"
    return np.array([box["x"], box["y"]]), (box["width"], box["height"])


def drag_path(
    page: Page,
    path: np.ndarray,
    *,
    max_step: float = 12.0,
    pause_ms: int = 15,
    modifier: str | None = None,
    release: bool = True,
) -> None:
    """Press at ``path[0]``, move through every vertex, release: a steady drag, as a hand moves.

    A lasso records its first point at the first move after the press and later points at most
    every ~10 ms, so the first move is 1 px long, moves are ``max_step`` px apart with
    ``pause_ms`` between them, and each vertex is held briefly, so the recorded outline follows
    ``path``. ``modifier`` (e.g. "Shift") is held for the whole drag; ``release=False`` leaves
    the button pressed at the last vertex (to time what the release triggers).
    """
    if modifier:
        page.keyboard.down(modifier)
    try:
        page.mouse.move(*path[0])
        page.mouse.down()
        first = path[1] - path[0]
        page.mouse.move(*(path[0] + first / max(np.linalg.norm(first), 1.0)))
        page.wait_for_timeout(pause_ms)
        for a, b in itertools.pairwise(path):
            n = max(1, int(np.ceil(np.linalg.norm(b - a) / max_step)))
            for t in np.arange(1, n + 1) / n:
                page.mouse.move(*(a + t * (b - a)))
                page.wait_for_timeout(pause_ms)
            page.wait_for_timeout(2 * pause_ms)
        if release:
            page.mouse.up()
    finally:
        if modifier:
            page.keyboard.up(modifier)


def points_drawn(embedding: Locator, indices: Sequence[int], radius: int = 2) -> float:
    """Fraction of points ``indices`` with a drawn (non-background) pixel at their projection."""
    image = element_pixels(scatter_canvas(embedding))
    mask = foreground_mask(image)
    xy = np.rint(project(embedding, indices)).astype(int)
    height, width = mask.shape
    hits = 0
    shown = 0
    for x, y in xy:
        if not (radius <= x < width - radius and radius <= y < height - radius):
            continue
        shown += 1
        hits += bool(mask[y - radius : y + radius + 1, x - radius : x + radius + 1].any())
    return hits / max(shown, 1)


def isolation_order(
    points: np.ndarray, size: tuple[float, float], border: float = 12.0
) -> np.ndarray:
    """Indices of the points at least ``border`` px inside the canvas, most isolated first.

    Isolation is the distance to the nearest other drawn point, so the order holds on any layout
    (dense or sparse); no fixed threshold can leave it empty while points are on screen.
    """
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    inside = (points >= border).all(1)
    inside &= (points[:, 0] <= size[0] - border) & (points[:, 1] <= size[1] - border)
    candidates = np.flatnonzero(inside)
    return candidates[np.argsort(-d[candidates].min(1), kind="stable")]


def hover_point(page: Page, embedding: Locator, i: int, timeout_ms: float = 1_500) -> bool:
    """Move the cursor onto point ``i``'s drawn position; True once the scatter reports ``i``
    under the cursor (False when another point, or none, is picked there)."""
    origin, _ = canvas_origin(embedding)
    x, y = origin + project(embedding, [i])[0]
    page.mouse.move(x - 6, y - 6)
    page.mouse.move(x, y, steps=3)
    try:
        page.wait_for_function(
            "([r, i]) => r.dataset.hovered === String(i)",
            arg=[embedding.element_handle(), int(i)],
            timeout=timeout_ms,
        )
    except PlaywrightTimeoutError:
        return False
    return True


def clickable_points(
    page: Page, embedding: Locator, k: int, *, exclude: Sequence[int] = (), tries: int = 40
) -> list[int]:
    """``k`` points that a click hits, read from the drawn positions once they have settled.

    Candidates are tried most isolated first; each is kept only when hovering its drawn position
    makes the scatter report it under the cursor.
    """
    n = int(embedding.evaluate("(r) => r.linlensPointCount()"))
    points = settled_positions(embedding, range(n))
    _, size = canvas_origin(embedding)
    found: list[int] = []
    order = [int(i) for i in isolation_order(points, size) if int(i) not in set(exclude)]
    for i in order[:tries]:
        if hover_point(page, embedding, i):
            found.append(i)
            if len(found) == k:
                return found
    raise AssertionError(
        f"only {len(found)} of {k} points could be hovered among the {min(tries, len(order))} "
        f"most isolated of {n} drawn on a {size[0]:.0f}x{size[1]:.0f} canvas"
    )


def click_point(page: Page, embedding: Locator, i: int, *, shift: bool = False) -> None:
    """Click point ``i`` where the page draws it, after the scatter reports it under the cursor."""
    assert hover_point(page, embedding, i, timeout_ms=5_000), (
        f"point {i} is not the one under the cursor at its drawn position"
    )
    origin, _ = canvas_origin(embedding)
    x, y = origin + project(embedding, [i])[0]
    if shift:
        page.keyboard.down("Shift")
    try:
        page.mouse.click(x, y)
    finally:
        if shift:
            page.keyboard.up("Shift")


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = 10.0) -> Any:
    """Call ``read`` until ``done(value)`` or the timeout; return the last value read."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


def kernel_value(
    nb: LabNotebook, expr: str, done: Callable[[Any], bool], timeout_s: float = 10.0
) -> Any:
    """Evaluate ``expr`` in the kernel until ``done(value)`` (traits sync asynchronously)."""
    return poll(lambda: nb.eval_json(expr), done, timeout_s)


# Text of the comparison that must stay readable: names, numbers, labels, notes.
BOKEH_CURSOR_JS = """(name) => {
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  for (const doc of docs) {
    for (const m of doc.all_models) if (m.name === name) return m.location;
  }
  return null;
}"""
"""The location of the metrics panel's cursor Span (by name) in the page's Bokeh documents; null
while the panel is not drawn."""

LABEL_BOXES_JS = """(root) => {
  const sel = '.linlens-tag, .linlens-cosine, .linlens-classname, .linlens-cos-class,'
    + ' .linlens-rowhead, .linlens-bias, .linlens-logit, .linlens-nb-label, .linlens-nb-sim,'
    + ' .linlens-scalebar-label, .linlens-nb-head, .linlens-scale-note';
  return Array.from(root.querySelectorAll(sel)).filter((n) => n.offsetParent !== null).map((n) => {
    const r = n.getBoundingClientRect();
    return {text: n.textContent, cls: n.className, x: r.left, y: r.top, w: r.width, h: r.height,
      scroll: n.scrollWidth, client: n.clientWidth, nested: !!n.parentElement.closest(sel)};
  });
}"""


def overlapping_labels(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of text boxes that overlap by more than a pixel (nested labels excluded)."""
    flat = [b for b in boxes if not b["nested"] and b["w"] > 0 and b["h"] > 0]
    out = []
    for i, p in enumerate(flat):
        for q in flat[i + 1 :]:
            dx = min(p["x"] + p["w"], q["x"] + q["w"]) - max(p["x"], q["x"])
            dy = min(p["y"] + p["h"], q["y"] + q["h"]) - max(p["y"], q["y"])
            if dx > 1 and dy > 1:
                out.append((p["text"], q["text"]))
    return out


def readability_problems(compare: Locator, explorer: Locator, where: str) -> list[str]:
    """What makes the comparison hard to read ``where``: too few labels found, labels that
    overlap or are cut, an explorer that scrolls sideways (empty when it reads well)."""
    boxes = compare.evaluate(LABEL_BOXES_JS)
    problems = [] if len(boxes) > 30 else [f"only {len(boxes)} labels found in the comparison"]
    overlaps = overlapping_labels(boxes)
    if overlaps:
        problems.append(f"labels overlap {where}: {overlaps[:5]}")
    cut = [b["text"] for b in boxes if b["scroll"] > b["client"] + 1 or "…" in b["text"]]
    if cut:
        problems.append(f"labels cut {where}: {cut[:5]}")
    wide = explorer.evaluate("(r) => [r.scrollWidth, r.clientWidth]")
    if wide[0] > wide[1] + 1:
        problems.append(f"the explorer scrolls sideways {where}: {wide}")
    return problems
