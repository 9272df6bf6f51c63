"""The x axis every figure of a run shares: checkpoints, epochs, linear or log.

Checkpoints are drawn at their position in the list (one step each, as on the explorer's slider,
the ticks labelled with their epochs), at their epoch, or at their epoch on a log axis.
:func:`resolve_x_scale` holds the package's one rule for ``auto`` (log when the checkpoints span
more than 1.5 decades); the saved pages' and the sweep page's charts (``js/src/chart.js``)
receive the scale it chose, so a run's time axis looks the same everywhere. Every panel of a
figure reads one ``ColumnDataSource`` of the checkpoints (:func:`checkpoint_source`), whose ``x``
column is where each checkpoint is drawn.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from bokeh.models import ColumnDataSource, FixedTicker
from bokeh.plotting import figure

__all__ = [
    "FRAME_WIDTH",
    "PANEL_HEIGHT",
    "ResolvedScale",
    "XScale",
    "checkpoint_figure",
    "checkpoint_source",
    "cursor_x",
    "plot_x",
    "resolve_x_scale",
]

XScale = Literal["checkpoint", "auto", "linear", "log"]
ResolvedScale = Literal["checkpoint", "linear", "log"]

FRAME_WIDTH = 560
"""Width of a panel's plot area: stacked panels share x positions whatever their legends."""
PANEL_HEIGHT = 180
"""Height of a panel's plot area."""


def resolve_x_scale(epochs: np.ndarray, x_scale: XScale) -> ResolvedScale:
    """Resolve ``auto``: log when the positive checkpoint epochs span more than 1.5 decades.

    The one axis rule of the package: these figures, the saved pages' charts and the sweep
    page's chart all decide linear or log here.

    >>> resolve_x_scale(np.array([0.0, 0.01, 0.1, 1.0]), "auto")
    'log'
    """
    if x_scale not in ("checkpoint", "auto", "linear", "log"):
        raise ValueError(
            f"x_scale must be 'checkpoint', 'auto', 'linear' or 'log', got {x_scale!r}"
        )
    if x_scale != "auto":
        return x_scale
    positive = epochs[epochs > 0]
    if len(positive) < 3:
        return "linear"
    return "log" if positive.max() / positive.min() > 10**1.5 else "linear"


def plot_x(epochs: np.ndarray, scale: ResolvedScale) -> np.ndarray:
    """Return where each checkpoint is drawn on an axis of ``scale``.

    ``checkpoint``: its position in the list (evenly spaced, as on the checkpoint slider);
    ``linear``: its epoch; ``log``: its epoch, with epoch 0 half a step left of the first.
    """
    if scale == "checkpoint":
        return np.arange(len(epochs), dtype=np.float64)
    if scale == "linear":
        return epochs.copy()
    positive = epochs[epochs > 0]
    floor = positive.min() / 2 if len(positive) else 1.0
    return np.where(epochs > 0, epochs, floor)


def checkpoint_source(table: dict[str, np.ndarray], scale: ResolvedScale) -> ColumnDataSource:
    """Return the one data source of a figure's panels: the table's columns plus the drawn ``x``.

    It is named ``"checkpoints"``: a front end finds it there to move a cursor.
    """
    data = {name: values.tolist() for name, values in table.items()}
    data["x"] = plot_x(table["epoch"], scale).tolist()
    return ColumnDataSource(data=data, name="checkpoints")


def checkpoint_figure(
    title: str,
    scale: str,
    *,
    x_range: Any = None,
    height: int = PANEL_HEIGHT,
    fixed_frame: bool = True,
    epochs: np.ndarray | None = None,
) -> Any:
    """Return a figure; ``fixed_frame`` sizes the plot area (stacked panels), else the whole."""
    size = ("frame_width", "frame_height") if fixed_frame else ("width", "height")
    options: dict[str, Any] = {
        "title": title,
        "x_axis_type": "linear" if scale == "checkpoint" else scale,
        size[0]: FRAME_WIDTH if fixed_frame else FRAME_WIDTH + 160,
        size[1]: height,
        "tools": "pan,wheel_zoom,box_zoom,reset,save",
        "toolbar_location": "right",
    }
    if x_range is not None:
        options["x_range"] = x_range
    fig = figure(**options)
    notes = {
        "log": " (log scale; initialisation at the left edge)",
        "checkpoint": " (one step per checkpoint, as on the slider)",
    }
    fig.xaxis.axis_label = f"epoch{notes.get(scale, '')}"
    if scale == "checkpoint" and epochs is not None:
        _epoch_ticks(fig, epochs)
    return fig


def _epoch_ticks(fig: Any, epochs: np.ndarray, most: int = 8) -> None:
    """Label an axis of checkpoint positions with the checkpoints' epochs (at most ``most``)."""
    n = len(epochs)
    if n == 0:
        return
    ticks = sorted({int(v) for v in np.rint(np.linspace(0, n - 1, min(n, most)))})
    fig.xaxis.ticker = FixedTicker(ticks=ticks)
    fig.xaxis.major_label_overrides = {t: f"{float(epochs[t]):.3g}" for t in ticks}


def cursor_x(epochs: np.ndarray, scale: ResolvedScale, epoch: float | None) -> float:
    """Return the x of the cursor at ``epoch`` (default the last checkpoint)."""
    if epoch is None:
        return float(plot_x(epochs, scale)[-1])
    if scale == "checkpoint":  # the checkpoint nearest the epoch
        return float(np.argmin(np.abs(epochs - float(epoch))))
    return float(plot_x(np.append(epochs, float(epoch)), scale)[-1])
