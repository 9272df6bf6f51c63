"""LensExplorer in JupyterLab: the scrubber drives the scatter and the kernel, the kernel drives
the slider, and two samples picked on the scatter are compared with the engine's cosine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.browser.guard import ARTIFACTS_ROOT, Guard
from tests.helpers.browser.pixels import changed_fraction, element_pixels
from tests.helpers.browser.runs import setup_cell
from tests.helpers.browser.widgets import (
    canvas_origin,
    kernel_value,
    points_drawn,
    poll,
    project,
    root,
    scatter_canvas,
    settled_positions,
    wait_scatter_ready,
)

pytestmark = pytest.mark.e2e

EXPLORER_CELL = "ex = ll.LensExplorer(run)\nex"
# Engine cosine of two samples' W_eff at a checkpoint position: flattened weights, float64.
ENGINE_COSINE = """
def engine_cosine(a, b, position):
    w = run_weights(run).effective_weights(int(traj.checkpoint_ids[position])).weight
    wa, wb = w[a].flatten().double(), w[b].flatten().double()
    overall = float(torch.dot(wa, wb) / (wa.norm() * wb.norm()))
    rows = w[a].flatten(1).double(), w[b].flatten(1).double()
    per_class = torch.nn.functional.cosine_similarity(*rows, dim=1).tolist()
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


def _isolated_points(points: np.ndarray, size: tuple[float, float], k: int) -> list[int]:
    """``k`` points, each >= 14 px from every other point and 20 px inside the canvas."""
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    inside = (points > 20).all(1) & (points[:, 0] < size[0] - 20) & (points[:, 1] < size[1] - 20)
    candidates = np.flatnonzero((d.min(1) >= 14) & inside)
    assert len(candidates) >= k, f"only {len(candidates)} isolated points on the scatter"
    return [int(i) for i in candidates[:k]]


def _click_point(lab, embedding, i: int, *, shift: bool = False) -> None:
    origin, _ = canvas_origin(embedding)
    x, y = origin + project(embedding, [i])[0]
    lab.page.mouse.move(x - 6, y - 6)
    lab.page.mouse.move(x, y, steps=3)
    lab.page.wait_for_timeout(150)  # hover: the scatter picks the point under the cursor
    if shift:
        lab.page.keyboard.down("Shift")
    try:
        lab.page.mouse.click(x, y)
    finally:
        if shift:
            lab.page.keyboard.up("Shift")


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
    n = lab.nb.eval_json("ex.embedding.n_points")
    lab.nb.run("ex.scrubber.checkpoint = ex.scrubber.n_checkpoints - 1")  # the trained network
    checkpoint = lab.nb.eval_json("ex.scrubber.n_checkpoints") - 1
    _wait_checkpoint_shown(lab, explorer, checkpoint, guard)
    _, size = canvas_origin(embedding)
    a, b = _isolated_points(settled_positions(embedding, range(n)), size, 2)

    _click_point(lab, embedding, a)
    _click_point(lab, embedding, b, shift=True)
    lab.page.wait_for_function(
        "([r, a, b]) => r.dataset.sampleA === String(a) && r.dataset.sampleB === String(b)"
        " && r.dataset.state === 'ready'",
        arg=[compare.element_handle(), a, b],
        timeout=15_000,
    )
    samples = kernel_value(
        lab.nb, "[ex.compare.sample_a, ex.compare.sample_b]", lambda v: v == [a, b]
    )
    guard.check(samples == [a, b], f"kernel compares {samples}, picked {[a, b]}")

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
    weight_images = compare.locator("canvas.linlens-img:not([title='input image'])")
    guard.check(weight_images.count() >= 20, f"only {weight_images.count()} W_eff images shown")

    # The cosine shown equals the engine's (flattened W_eff of both samples at this checkpoint).
    engine = lab.nb.eval_json(f"engine_cosine({a}, {b}, {checkpoint})")
    shown = float(compare.locator("[data-testid=cosine]").get_attribute("data-value"))
    guard.check(
        abs(shown - engine["overall"]) < 1e-5,
        f"cosine shown {shown!r} != engine cosine {engine['overall']!r} for samples {a}, {b}",
    )
    text = compare.locator("[data-testid=cosine]").inner_text()
    guard.check(f"{engine['overall']:.3f}" in text, f"cosine text {text!r} is not the rounding")
    per_class = compare.locator("[data-testid=cosine-class]")
    for k in range(per_class.count()):
        cell = per_class.nth(k)
        cls = int(cell.get_attribute("data-class"))
        value = float(cell.get_attribute("data-value"))
        guard.check(
            abs(value - engine["per_class"][cls]) < 1e-5,
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
