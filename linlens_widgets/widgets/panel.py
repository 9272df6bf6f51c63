"""The explorer's Bokeh metrics panel: building it, and where its checkpoint cursor goes.

Both the live explorer (a ``jupyter_bokeh`` widget whose cursor follows the scrubber) and the
saved page (inline BokehJS, the cursor moved by the page's script) use these functions, so the
cursor's x for each checkpoint is computed in one place. The explorer keeps its own reference to
the Bokeh figure, so nothing here reads a private attribute of ``jupyter_bokeh``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["cursor_positions", "figure_x", "load_bokehjs", "metrics_figure", "set_cursor"]

_BOKEHJS_LOADED = False


def metrics_figure(run: Any, metrics: Sequence[str] | None) -> Any | None:
    """Return ``ll.plots.metric_panel`` of the run sized for the explorer, or None with a warning.

    Parameters
    ----------
    run
        The explored run.
    metrics
        Metric names (default: the panel's own).

    Returns
    -------
    bokeh.plotting.figure or None
        None when the panel cannot be drawn; the linked widgets still work without it.
    """
    from linlens_widgets import plots

    try:
        fig = plots.metric_panel(run, metrics, height=200)
    except Exception as err:  # the panel is optional; the linked widgets still work
        warnings.warn(f"metrics panel unavailable: {err}", stacklevel=3)
        return None
    fig.sizing_mode = "stretch_width"
    return fig


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


def load_bokehjs() -> None:
    """Load BokehJS into the notebook once per kernel, from inline resources (works offline)."""
    global _BOKEHJS_LOADED
    if _BOKEHJS_LOADED:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
    _BOKEHJS_LOADED = True
