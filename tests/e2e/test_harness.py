"""The pipeline itself: JupyterLab + Chromium + kernel, proven with a tiny inline anywidget.

If these fail, the product's browser tests cannot mean anything: the failure is in the harness or
the machine (Chromium, WebGL, the anywidget labextension), not in linlens_widgets. They test
JupyterLab and anywidget, not the product, so the default run leaves them out (marker
``harness``); run them with ``uv run pytest -m harness`` when a browser test fails on a new machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.browser.guard import Guard
from tests.helpers.browser.pixels import element_pixels, foreground_mask

pytestmark = [pytest.mark.e2e, pytest.mark.harness]

PROBE_WIDGET = r'''
import anywidget
import traitlets

class Probe(anywidget.AnyWidget):
    """A WebGL canvas filled with `color` and a button that counts clicks into `clicks`."""

    _esm = """
    export default {
      render({ model, el }) {
        const root = document.createElement("div");
        root.className = "probe-root";
        const canvas = document.createElement("canvas");
        canvas.width = 160; canvas.height = 100;
        canvas.style.background = "white";
        const gl = canvas.getContext("webgl");
        const draw = () => {
          const [r, g, b] = model.get("color");
          gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT);
          gl.enable(gl.SCISSOR_TEST); gl.scissor(40, 25, 80, 50);
          gl.clearColor(r, g, b, 1); gl.clear(gl.COLOR_BUFFER_BIT);
          gl.disable(gl.SCISSOR_TEST);
        };
        const button = document.createElement("button");
        button.textContent = "count";
        button.setAttribute("aria-label", "Count");
        button.addEventListener("click", () => {
          model.set("clicks", model.get("clicks") + 1);
          model.save_changes();
        });
        model.on("change:color", draw);
        root.append(canvas, button);
        el.append(root);
        draw();
        return () => model.off("change:color", draw);
      }
    };
    """
    clicks = traitlets.Int(0).tag(sync=True)
    color = traitlets.List([1.0, 0.0, 0.0]).tag(sync=True)

probe = Probe()
probe
'''


@pytest.fixture(scope="module")
def lab(open_notebook):
    """A notebook whose first cell displays the probe widget."""
    return open_notebook("harness.ipynb", [PROBE_WIDGET])


@pytest.fixture
def ui(lab, guard: Guard):
    guard.track(lab.page, lab.watch)
    return lab


def _canvas(lab):
    canvas = lab.nb.cell(0).locator(".probe-root canvas")
    canvas.wait_for(state="visible")
    return canvas


def test_labextensions_load(ui, guard: Guard) -> None:
    """Lab found anywidget's and jupyter_bokeh's labextensions despite the isolated data dir."""
    names = ui.page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".federated_extensions.map(e => e.name)"
    )
    for needed in ("anywidget", "@bokeh/jupyter_bokeh"):
        guard.check(needed in names, f"labextension {needed} not loaded; Lab loaded {names}")
    guard.assert_clean()


def test_webgl_canvas_draws_in_lab(ui, guard: Guard) -> None:
    """The widget's WebGL canvas shows its red rectangle: pixels, not just a DOM node."""
    image = element_pixels(_canvas(ui))
    mask = foreground_mask(image)
    guard.check(mask.sum() > 0.2 * mask.size, f"canvas drew {mask.sum()} of {mask.size} pixels")
    red = image[mask].mean(axis=0)
    guard.check(red[0] > 200 and red[1] < 60, f"drawn pixels are not red: mean RGB {red}")
    guard.assert_clean()


def test_click_sets_trait_in_kernel(ui, guard: Guard) -> None:
    """A real click on the widget's button reaches the kernel's trait."""
    before = ui.nb.eval_json("probe.clicks")
    ui.nb.cell(0).get_by_role("button", name="Count").click()
    ui.nb.cell(0).get_by_role("button", name="Count").click()
    ui.page.wait_for_timeout(300)
    after = ui.nb.eval_json("probe.clicks")
    guard.check(after == before + 2, f"kernel saw clicks {before} -> {after}, expected +2")
    guard.assert_clean()


def test_kernel_trait_redraws_canvas(ui, guard: Guard) -> None:
    """Setting a trait from Python changes the pixels in the browser."""
    canvas = _canvas(ui)
    ui.nb.run("probe.color = [0.0, 0.0, 1.0]")
    deadline_ms = 5000
    waited = 0
    blue = np.zeros(3)
    while waited < deadline_ms:
        image = element_pixels(canvas)
        blue = image[foreground_mask(image)].mean(axis=0)
        if blue[2] > 200 and blue[0] < 60:
            break
        ui.page.wait_for_timeout(100)
        waited += 100
    guard.check(blue[2] > 200 and blue[0] < 60, f"canvas not blue after kernel set: {blue}")
    guard.assert_clean()
