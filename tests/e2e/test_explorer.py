"""LensExplorer in JupyterLab: the scrubber drives the scatter and the kernel, the kernel drives
the slider, two samples picked on the scatter are compared with the kernel's centred cosine, a
brushed group becomes an operand, neighbours are listed, and at 1280x720 with the file browser open
no label of the comparison overlaps another or is cut."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.browser.guard import ARTIFACTS_ROOT, Guard
from tests.helpers.browser.pixels import changed_fraction, element_pixels
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import (
    canvas_origin,
    click_point,
    clickable_points,
    kernel_value,
    points_drawn,
    poll,
    readability_problems,
    root,
    scatter_canvas,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

EXPLORER_CELL = "ex = ll.LensExplorer(run)\nex"
# Engine centred cosine of two samples' W_eff at a checkpoint position (class_similarity's
# definition: the probe mean W_eff at that checkpoint subtracted), overall and per class.
ENGINE_COSINE = """
from linlens_widgets.analysis.weights import run_weights
def engine_cosine(a, b, position):
    w = run_weights(run).effective_weights(int(traj.checkpoint_ids[position])).weight
    m = ll.metrics.probe_mean(w).reshape(w.shape[1], -1)
    overall = ll.metrics.centred_cosine(w[a], w[b], m)
    rows = w[a].flatten(1), w[b].flatten(1)
    per_class = [ll.metrics.centred_cosine(x, y, mk) for x, y, mk in zip(*rows, m)]
    return {"overall": overall, "per_class": per_class}
"""


@pytest.fixture(scope="module")
def lab(open_notebook, digits_run_path):
    """A notebook showing ``ex = ll.LensExplorer(run)`` in cell 1."""
    return open_notebook(
        "explorer.ipynb", [setup_cell(digits_run_path) + ENGINE_COSINE, EXPLORER_CELL]
    )


@pytest.fixture
def ui(lab, guard: Guard):
    guard.track(lab.page, lab.watch)
    explorer = root(lab.nb.cell(1), "explorer")
    explorer.wait_for(state="visible", timeout=30_000)
    wait_scatter_ready(root(explorer, "embedding"))
    return lab, explorer


def _slider(explorer):
    return root(explorer, "scrubber").locator("input.linlens-checkpoint")


def _wait_checkpoint_shown(lab, explorer, checkpoint: int, guard: Guard) -> None:
    """Wait until slider and scatter show ``checkpoint`` and the points sit at its positions."""
    embedding = root(explorer, "embedding")
    lab.page.wait_for_function(
        "([r, e]) => r.dataset.checkpoint === String(e)",
        arg=[embedding.element_handle(), checkpoint],
        timeout=10_000,
    )
    n = lab.nb.eval_json("ex.embedding.n_points")
    drawn = poll(lambda: points_drawn(embedding, range(n)), lambda f: f > 0.95, timeout_s=10)
    guard.check(
        drawn > 0.95, f"at checkpoint {checkpoint} only {drawn:.1%} of points are drawn in place"
    )


def _kernel_checkpoints(lab) -> list[int]:
    return lab.nb.eval_json(
        "[ex.scrubber.checkpoint, ex.embedding.checkpoint, ex.compare.checkpoint]"
    )


def test_scrubber_drag_moves_scatter_and_kernel(ui, guard: Guard) -> None:
    lab, explorer = ui
    n_checkpoints = lab.nb.eval_json("ex.scrubber.n_checkpoints")
    lab.nb.run("ex.scrubber.checkpoint = ex.scrubber.n_checkpoints - 1")
    slider = _slider(explorer)
    poll(slider.input_value, lambda v: v == str(n_checkpoints - 1))
    _wait_checkpoint_shown(lab, explorer, n_checkpoints - 1, guard)
    canvas = scatter_canvas(root(explorer, "embedding"))
    canvas_origin(root(explorer, "embedding"))
    before = element_pixels(canvas)

    # Drag the thumb from the right end to past the left end.
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    lab.page.mouse.move(box["x"] + box["width"] - 4, y)
    lab.page.mouse.down()
    for x in np.linspace(box["x"] + box["width"] - 4, box["x"] - 20, 15):
        lab.page.mouse.move(float(x), y)
        lab.page.wait_for_timeout(20)
    lab.page.mouse.up()
    guard.check(slider.input_value() == "0", f"dragged slider shows {slider.input_value()}")
    _wait_checkpoint_shown(lab, explorer, 0, guard)
    change = changed_fraction(before, element_pixels(canvas))
    guard.check(change > 0.002, f"scatter pixels barely changed after scrubbing: {change:.3%}")
    kernel_value(lab.nb, "ex.scrubber.checkpoint", lambda v: v == 0)
    guard.check(
        _kernel_checkpoints(lab) == [0, 0, 0], f"kernel checkpoints {_kernel_checkpoints(lab)} != 0"
    )
    guard.assert_clean()


def test_scrubber_arrow_keys_move_scatter_and_kernel(ui, guard: Guard) -> None:
    lab, explorer = ui
    lab.nb.run("ex.scrubber.checkpoint = 0")
    _wait_checkpoint_shown(lab, explorer, 0, guard)
    canvas = scatter_canvas(root(explorer, "embedding"))
    canvas_origin(root(explorer, "embedding"))
    at_zero = element_pixels(canvas)
    slider = _slider(explorer)
    slider.focus()
    lab.page.keyboard.press("ArrowRight")
    lab.page.keyboard.press("ArrowRight")
    guard.check(slider.input_value() == "2", f"after 2x ArrowRight: {slider.input_value()}")
    _wait_checkpoint_shown(lab, explorer, 2, guard)
    change = changed_fraction(at_zero, element_pixels(canvas))
    guard.check(change > 0.002, f"arrow keys did not change the scatter: {change:.3%}")
    kernel_value(lab.nb, "ex.scrubber.checkpoint", lambda v: v == 2)
    guard.check(
        _kernel_checkpoints(lab) == [2, 2, 2], f"kernel checkpoints {_kernel_checkpoints(lab)} != 2"
    )
    slider.focus()  # running the checks above put the focus in a notebook cell
    lab.page.keyboard.press("ArrowLeft")
    guard.check(slider.input_value() == "1", f"after ArrowLeft: {slider.input_value()}")
    kernel_value(lab.nb, "ex.scrubber.checkpoint", lambda v: v == 1)
    guard.check(
        _kernel_checkpoints(lab) == [1, 1, 1], f"kernel checkpoints {_kernel_checkpoints(lab)} != 1"
    )
    guard.assert_clean()


def test_kernel_checkpoint_moves_slider_and_scatter(ui, guard: Guard) -> None:
    lab, explorer = ui
    lab.nb.run("ex.scrubber.checkpoint = 5")
    slider = _slider(explorer)
    poll(slider.input_value, lambda v: v == "5", timeout_s=10)
    guard.check(slider.input_value() == "5", f"slider shows {slider.input_value()}, kernel set 5")
    _wait_checkpoint_shown(lab, explorer, 5, guard)
    guard.check(
        _kernel_checkpoints(lab) == [5, 5, 5], f"kernel checkpoints {_kernel_checkpoints(lab)} != 5"
    )
    guard.assert_clean()


def _input_image(cell) -> list[int]:
    """Grey values of a comparison's input-image canvas (8x8 digits: 64 values)."""
    return cell.evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ".filter((_, k) => k % 4 === 0)"
    )


def test_pick_two_samples_compares_with_engine_cosine(ui, guard: Guard) -> None:
    lab, explorer = ui
    embedding = root(explorer, "embedding")
    compare = root(explorer, "compare")
    lab.nb.run("ex.scrubber.checkpoint = ex.scrubber.n_checkpoints - 1")  # the trained network
    checkpoint = lab.nb.eval_json("ex.scrubber.n_checkpoints") - 1
    _wait_checkpoint_shown(lab, explorer, checkpoint, guard)
    a, b = clickable_points(lab.page, embedding, 2)

    click_point(lab.page, embedding, a)
    click_point(lab.page, embedding, b, shift=True)
    lab.page.wait_for_function(
        "([r, a, b]) => r.dataset.a === String(a) && r.dataset.b === String(b)"
        " && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), a, b],
        timeout=15_000,
    )
    samples = kernel_value(lab.nb, "[ex.compare.a, ex.compare.b]", lambda v: v == [[a], [b]])
    guard.check(samples == [[a], [b]], f"kernel compares {samples}, picked {[a, b]}")

    # Their images: the input canvases show exactly the probe images of A and B.
    inputs = compare.locator("canvas[title='input image']")
    guard.check(inputs.count() == 2, f"{inputs.count()} input images shown, expected 2")
    expected = lab.nb.eval_json(
        f"[(255 - np.round(np.clip(run.probe_inputs[i].numpy(), 0, 1) * 255)).astype(int)"
        f" for i in ({a}, {b})]"
    )
    for k, name in enumerate("AB"):
        shown = np.array(_input_image(inputs.nth(k)))
        diff = np.abs(shown - np.array(expected[k])).max()
        guard.check(diff <= 1, f"input image of {name} differs from the probe image by {diff}")
    # A compact comparison (A's and B's classes) has the full class grid one click away.
    if compare.get_attribute("data-classes") == "focus":
        compare.locator("[data-testid=all-classes]").click()
        lab.page.wait_for_function(
            "(r) => r.dataset.classes === 'all'", arg=compare.element_handle(), timeout=5_000
        )
    weight_images = compare.locator("canvas.linlens-img:not([title='input image'])")
    guard.check(weight_images.count() >= 20, f"only {weight_images.count()} W_eff images shown")

    # The cosine shown is the centred one, equal to the engine's and to the widget's cosine().
    engine = lab.nb.eval_json(f"engine_cosine({a}, {b}, {checkpoint})")
    kernel = lab.nb.eval_json("ex.compare.cosine()['overall']")
    cosine = compare.locator("[data-testid=cosine]")
    shown = float(cosine.get_attribute("data-value"))
    guard.check(
        abs(shown - engine["overall"]) < 1e-4 and abs(shown - kernel) < 1e-4,
        f"cosine shown {shown!r} != engine {engine['overall']!r} / cosine() {kernel!r}",
    )
    text = cosine.inner_text()
    guard.check(text.startswith("centred cosine"), f"cosine text {text!r} does not name it")
    guard.check("mean W_eff" in (cosine.get_attribute("title") or ""), "no tooltip says what it is")
    per_class = compare.locator("[data-testid=cosine-class]")
    for k in range(per_class.count()):
        cell = per_class.nth(k)
        cls = int(cell.get_attribute("data-class"))
        value = float(cell.get_attribute("data-value"))
        guard.check(
            abs(value - engine["per_class"][cls]) < 1e-4,
            f"class {cls} cosine shown {value} != engine {engine['per_class'][cls]}",
        )
    guard.assert_clean()

    # The README's picture: the whole explorer output, with both samples compared.
    output = (
        lab.nb.cell(1)
        .locator(".jp-OutputArea-output")
        .filter(has=lab.page.locator("[data-linlens=explorer]"))
    )
    output.scroll_into_view_if_needed()
    ARTIFACTS_ROOT.mkdir(parents=True, exist_ok=True)
    output.screenshot(path=ARTIFACTS_ROOT / "explorer.png", animations="disabled")
    all_classes = compare.locator("[data-testid=all-classes]")
    if compare.get_attribute("data-classes") == "all" and all_classes.is_visible():
        all_classes.click()  # back to A's and B's classes, for the tests that follow


def _show_at(lab, width: int, height: int, *, file_browser: bool) -> None:
    lab.page.set_viewport_size({"width": width, "height": height})
    if file_browser:
        lab.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    else:
        lab.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    lab.page.wait_for_function(f"() => document.scrollingElement.clientWidth === {width}")
    settled_positions(root(root(lab.nb.cell(1), "explorer"), "embedding"), [0])


def test_comparison_is_readable_at_1280_with_file_browser(ui, guard: Guard) -> None:
    lab, explorer = ui
    compare = root(explorer, "compare")
    lab.nb.run("ex.scrubber.checkpoint = 0")  # initialisation: the smallest scores
    _show_at(lab, 1280, 720, file_browser=True)
    a = lab.nb.eval_json("ex.compare.a[0]")
    lab.page.wait_for_function(
        "(r) => r.dataset.state === 'ready' && r.dataset.checkpoint === '0'",
        arg=compare.element_handle(),
        timeout=15_000,
    )
    # Neighbours of a single-sample A: k thumbnails with labels and the agreement.
    agreement = compare.locator("[data-testid=neighbor-agreement]")
    agreement.wait_for(state="visible", timeout=15_000)
    k = lab.nb.eval_json("ex.compare.k")
    thumbs = compare.locator(".linlens-nb")
    guard.check(thumbs.count() == k, f"{thumbs.count()} neighbours shown, expected {k}")
    expected = lab.nb.eval_json(f"ex.compare.neighbors({a}).index.tolist()")
    shown = [int(thumbs.nth(j).get_attribute("data-sample")) for j in range(thumbs.count())]
    guard.check(shown == expected, f"neighbours shown {shown} != kernel's {expected}")
    text = agreement.inner_text()
    guard.check(f"/{k} share A's label" in text, f"agreement text {text!r}")
    lab.page.wait_for_function(
        "(r) => !Array.from(r.querySelectorAll('.linlens-nb-label'))"
        ".some((n) => n.textContent === '…')",
        arg=compare.element_handle(),
        timeout=15_000,
    )

    problems = readability_problems(compare, explorer, "at 1280x720")
    guard.check(not problems, "; ".join(problems))
    body = compare.evaluate(
        "(r) => { const b = r.querySelector('.linlens-compare-body'); "
        "return [b.scrollWidth, b.clientWidth]; }"
    )
    guard.check(body[0] <= body[1] + 1, f"the comparison scrolls horizontally: {body}")
    header = compare.locator("[data-testid=cosine]")
    guard.check(
        "epoch" not in compare.locator(".linlens-compare-head").inner_text(),
        "the comparison header repeats the epoch",
    )
    guard.check(header.is_visible(), "the similarity is not visible")

    # Two colour bars, each labelled; the legend says what red/blue and f mean.
    bars = compare.locator(".linlens-scalebar")
    guard.check(bars.count() >= 2, f"{bars.count()} colour bars, expected one per scale")
    note = compare.locator(".linlens-scale-note").inner_text()
    guard.check("f_c = score for class c" in note and "red" in note, f"legend {note!r}")
    _screenshot(lab, "explorer_1280.png", end_at=compare)
    guard.assert_clean()


def test_brush_sets_a_group_with_its_size(ui, guard: Guard) -> None:
    lab, explorer = ui
    compare = root(explorer, "compare")
    _show_at(lab, 1920, 1080, file_browser=False)
    group = lab.nb.eval_json("[int(i) for i in np.flatnonzero(run.probe_labels.numpy() == 1)[:23]]")
    lab.nb.run(f"ex.embedding.selection = {group}")  # as a brush would: the front end links it
    lab.page.wait_for_function(
        "([r, a]) => r.dataset.a === a && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), ",".join(map(str, sorted(group)))],
        timeout=20_000,
    )
    kernel = kernel_value(lab.nb, "ex.compare.a", lambda v: v == sorted(group))
    guard.check(kernel == sorted(group), f"kernel's a is {kernel}, brushed {sorted(group)}")
    tag = compare.locator("[data-testid=operand-a]").inner_text()
    guard.check("group of 23" in tag and "'1'" in tag, f"operand A reads {tag!r}")
    shown = float(compare.locator("[data-testid=cosine]").get_attribute("data-value"))
    expected = lab.nb.eval_json("ex.compare.cosine()['overall']")
    guard.check(abs(shown - expected) < 1e-4, f"group cosine {shown} != cosine() {expected}")
    guard.check(
        compare.locator("[data-testid=neighbor-agreement]").count() == 0,
        "neighbours are listed for a group",
    )
    _screenshot(lab, "explorer_1920.png")
    guard.assert_clean()


def _screenshot(lab, name: str, *, end_at=None) -> None:
    """Save the page and the explorer's output area as artefacts (looked at before use)."""
    output = (
        lab.nb.cell(1)
        .locator(".jp-OutputArea-output")
        .filter(has=lab.page.locator("[data-linlens=explorer]"))
    )
    if end_at is None:
        output.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    else:  # a short viewport: show the comparison whole, under the end of the scatter
        end_at.evaluate("(e) => e.scrollIntoView({block: 'end'})")
    ARTIFACTS_ROOT.mkdir(parents=True, exist_ok=True)
    settled_positions(root(root(lab.nb.cell(1), "explorer"), "embedding"), [0])
    lab.page.screenshot(path=ARTIFACTS_ROOT / name, animations="disabled")
    output.screenshot(path=ARTIFACTS_ROOT / f"output_{name}", animations="disabled")
