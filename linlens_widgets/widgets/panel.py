"""The explorer's Bokeh metrics panel: building it, and where its checkpoint cursor goes.

Both the live explorer (a ``jupyter_bokeh`` widget whose cursor follows the scrubber) and the
saved page (inline BokehJS, the cursor moved by the page's script) use these functions, so the
cursor's x for each checkpoint is computed in one place. The explorer keeps its own reference to
the Bokeh figure, so nothing here reads a private attribute of ``jupyter_bokeh``.
"""

from __future__ import annotations

import functools
import html
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets
import numpy as np

from linlens_widgets.progress import Progress
from linlens_widgets.widgets._after_cell import after_cell

__all__ = [
    "BOKEHJS_COMPONENTS",
    "PendingPanel",
    "bokehjs_loaded",
    "cursor_positions",
    "explorer_figure",
    "figure_x",
    "load_bokehjs",
    "load_bokehjs_after_cell",
    "metrics_figure",
    "missing_analyses",
    "panel_widget",
    "render_bundle",
    "scale_text",
    "set_cursor",
    "text_sizes",
]

PRESENTATION_SCALE = 1.4
"""How much the panel's text grows at presentation size (the comparison's tiles grow 60 → 84 px)."""

_FONT_SIZES = (
    "axis_label_text_font_size",
    "major_label_text_font_size",
    "label_text_font_size",
    "title_text_font_size",
    "text_font_size",
)

_BOKEHJS_LOADED = False


def metrics_figure(
    run: Any, metrics: Sequence[str] | None, *, progress: Progress = True
) -> Any | None:
    """Return ``ll.plots.metric_panel`` of the run sized for the explorer, or None with a warning.

    Parameters
    ----------
    run
        The explored run.
    metrics
        Metric names (default: the panel's own).
    progress
        A progress bar while its analyses are computed (default True), or a ``ProgressHook``.

    Returns
    -------
    bokeh.plotting.figure or None
        None when the panel cannot be drawn; the linked widgets still work without it.
    """
    try:
        return explorer_figure(run, metrics, progress=progress)
    except Exception as err:  # the panel is optional; the linked widgets still work
        warnings.warn(f"metrics panel unavailable: {err}", stacklevel=3)
        return None


def explorer_figure(run: Any, metrics: Sequence[str] | None, *, progress: Progress) -> Any:
    """Return ``ll.plots.metric_panel`` of the run sized for the explorer (errors raised)."""
    from linlens_widgets import plots

    fig = plots.metric_panel(run, metrics, height=200, progress=progress)
    fig.sizing_mode = "stretch_width"
    return fig


def missing_analyses(run: Any, metrics: Sequence[str] | None) -> list[str]:
    """Return the lens analyses the panel draws that the run does not store yet."""
    from linlens_widgets.analysis.over_run import lens_needed, lens_stored, panel_columns

    needed = lens_needed(panel_columns(run, metrics))
    return [analysis for analysis in needed if not lens_stored(run, [analysis])]


_ANALYSIS_NAMES = {
    "similarity": "class similarity",
    "agreement": "kNN agreement",
    "subclusters": "sub-cluster tracking",
    "phenomena": "alignment, local complexity and weight variation",
}


class PendingPanel(ipywidgets.VBox):
    """Where the metrics panel will be, while its analyses are computed in the background.

    One line says what is computed, over how many samples and checkpoints, and where it is kept;
    a bar counts the checkpoints done. ``hook`` is the ``ProgressHook`` the computation reports
    to; ``fail`` says why the panel could not be drawn.
    """

    def __init__(self, run: Any, analyses: Sequence[str]) -> None:
        n, e = len(run.probe_labels), len(run.checkpoints)
        what = " and ".join(_ANALYSIS_NAMES.get(a, a) for a in analyses)
        folder = getattr(run, "path", None)
        kept = f"kept with the run in {folder}/analysis" if folder else "kept with the run"
        line = (
            f"Metrics panel: computing {what} of {n:,} probe samples at {e} checkpoints "
            f"(a step per checkpoint each; {kept}); the scatter and the comparison work "
            "meanwhile."
            if analyses
            else f"Metrics panel: drawing the metrics of {e} checkpoints (stored with the run)."
        )
        self.text = ipywidgets.HTML(html.escape(line))
        steps = max(1, len(analyses) * e)  # one step per analysis and checkpoint
        self.bar = ipywidgets.IntProgress(
            value=0,
            min=0,
            max=steps,
            description=f"0 of {steps} steps",
            style={"description_width": "initial"},
        )
        if not analyses:  # nothing to count: the panel is only drawn
            self.bar.layout.display = "none"
        self._done: dict[str, int] = {}
        super().__init__(children=[self.text, self.bar])
        self.add_class("linlens-pending-panel")

    def hook(self, what: str, done: int, total: int) -> None:
        """Count ``done`` of ``total`` checkpoints of the analysis ``what`` (a ProgressHook)."""
        self._done[what] = done
        self.bar.value = min(self.bar.max, sum(self._done.values()))
        self.bar.description = f"{self.bar.value} of {self.bar.max} steps"

    def fail(self, reason: str) -> None:
        """Say that the panel could not be drawn, and why (the linked widgets still work)."""
        self.text.value = html.escape(f"Metrics panel unavailable: {reason}")
        self.bar.layout.display = "none"


def figure_x(fig: Any) -> list[float]:
    """Return the x of every run checkpoint in a metric panel (its source named "checkpoints")."""
    source = fig.select_one({"name": "checkpoints"})
    return [float(v) for v in source.data["x"]]


def cursor_positions(fig: Any, ids: np.ndarray) -> list[float]:
    """Return the cursor's x at each checkpoint position (run checkpoint ``ids[i]``)."""
    xs = figure_x(fig)
    return [xs[int(i)] for i in ids]


def set_cursor(fig: Any, x: float) -> None:
    """Move the panel's checkpoint cursor (a Bokeh ``Span``) to ``x``, if the panel has one."""
    from linlens_widgets import plots

    cursor = fig.select_one({"name": plots.CURSOR_NAME})
    if cursor is not None:
        cursor.location = x


def text_sizes(fig: Any) -> list[tuple[Any, str, float, str]]:
    """Return every font size set on the panel's models, to scale from later.

    Each entry is ``(model, property, size, unit)``; read once, when the panel is built, so
    scaling twice never compounds.
    """
    sizes = []
    for model in fig.references():
        props = model.properties()
        for name in _FONT_SIZES:
            if name not in props:
                continue
            parsed = _font_size(getattr(model, name))
            if parsed is not None:
                sizes.append((model, name, *parsed))
    return sizes


def scale_text(sizes: Sequence[tuple[Any, str, float, str]], factor: float) -> None:
    """Set every font size of ``text_sizes`` to its original times ``factor``.

    In the live explorer the figure lives in the kernel, so each change reaches the browser
    as a patch, like the cursor.
    """
    for model, name, size, unit in sizes:
        setattr(model, name, f"{size * factor:g}{unit}")


def _font_size(value: Any) -> tuple[float, str] | None:
    """Split a Bokeh font size ("9pt", "13px", or ``{"value": "13px"}``) into number and unit."""
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    for unit in ("px", "pt", "em", "rem"):
        if value.endswith(unit):
            try:
                return float(value[: -len(unit)]), unit
            except ValueError:
                return None
    return None


BOKEHJS_COMPONENTS = ("bokeh",)
"""The BokehJS bundles the panel's models need: the core one (1.3 MB), not the widgets, tables,
WebGL or MathJax bundles (2.7 MB more, sent twice by ``output_notebook``)."""


def load_bokehjs() -> None:
    """Load BokehJS into the notebook once per kernel, from inline resources (works offline).

    Only `BOKEHJS_COMPONENTS` are loaded: the panel draws lines, markers, spans and a legend.
    """
    global _BOKEHJS_LOADED
    if _BOKEHJS_LOADED:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=list(BOKEHJS_COMPONENTS))
    output_notebook(resources=resources, hide_banner=True)
    _BOKEHJS_LOADED = True


def bokehjs_loaded() -> bool:
    """Whether `load_bokehjs` has sent BokehJS to the notebook in this kernel."""
    return _BOKEHJS_LOADED


def load_bokehjs_after_cell(then: Callable[[], None]) -> None:
    """Load BokehJS once the running cell has finished, then call ``then``.

    Its 2.5 MB of script then goes to the browser after the cell's output (the explorer's first
    frame), still inside that cell, so the page keeps it like any other output. Outside IPython
    it is loaded at once.
    """

    def load_then() -> None:
        load_bokehjs()
        then()

    if bokehjs_loaded():
        load_then()
    else:
        after_cell(load_then)


def render_bundle(fig: Any) -> dict[str, Any]:
    """Serialise the figure as ``jupyter_bokeh`` draws it (docs JSON, render item, div), now."""
    from bokeh.embed.elements import div_for_render_item
    from bokeh.embed.util import standalone_docs_json_and_render_items

    docs_json, (item,) = standalone_docs_json_and_render_items(
        [fig], suppress_callback_warning=True
    )
    return {
        "docs_json": docs_json,
        "render_items": [item.to_json()],
        "div": div_for_render_item(item),
    }


def panel_widget(fig: Any) -> Any:
    """Return the panel as a ``jupyter_bokeh`` widget whose saved and reloaded state is current.

    ``jupyter_bokeh`` sends later changes of the figure (the cursor following the scrubber) as
    patches and keeps the figure as it was first drawn as the widget's state; a reloaded page,
    which draws the widget again from that state, would show the cursor where the explorer
    opened. This widget serialises the figure as it is whenever its whole state is asked for
    (a page reloading, a notebook saving its widget state); moving the cursor still sends only
    a patch.
    """
    widget = _current_panel_class()(fig)
    widget.figure = fig
    return widget


@functools.cache
def _current_panel_class() -> type:
    """``BokehModel`` whose full state is the figure now (built once; bokeh loads lazily)."""
    from bokeh.core.json_encoder import serialize_json
    from jupyter_bokeh import BokehModel

    class CurrentPanel(BokehModel):
        """A ``BokehModel`` whose ``render_bundle`` state is serialised when asked for."""

        figure: Any = None

        def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
            state = super().get_state(key, drop_defaults=drop_defaults)
            if "render_bundle" in state and self.figure is not None:
                state["render_bundle"] = serialize_json(render_bundle(self.figure))
            return state

    return CurrentPanel
