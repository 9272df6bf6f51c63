"""One checkpoint's 2-D layout as a static scatter, coloured by class as the explorer colours it.

>>> fig = ll.plots.embedding_figure(trajectory.positions[-1], labels, run.classes)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from linlens_widgets.widgets.palettes import class_colors

__all__ = ["embedding_figure"]


def embedding_figure(
    positions: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    *,
    title: str = "",
    size: int = 420,
) -> Any:
    """Draw one checkpoint's 2-D layout as a static scatter, coloured by class as the explorer is.

    For notebooks and reports that show a layout without the widget: the class colours are the
    contract's (``palettes.classes``), so class ``k`` has the same colour here as in the
    explorer and its saved page. Click a legend entry to hide a class.

    Parameters
    ----------
    positions
        ``(N, 2)`` positions (e.g. ``trajectory.positions[k]``).
    labels
        ``(N,)`` class of each point.
    classes
        Class names, one per class index.
    title
        Figure title.
    size
        Width and height in pixels.
    """
    xy = np.asarray(positions, dtype=np.float64)
    y = np.asarray(labels)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(y):
        raise ValueError(f"positions must be (N, 2) with N = {len(y)} labels, got {xy.shape}")
    fig = figure(
        width=size,
        height=size,
        title=title,
        match_aspect=True,
        tools="pan,wheel_zoom,reset,hover",
        tooltips=[("class", "@label"), ("sample", "@index")],
    )
    for k, (name, color) in enumerate(zip(classes, class_colors(len(classes)), strict=True)):
        chosen = np.flatnonzero(y == k)
        source = ColumnDataSource(
            {"x": xy[chosen, 0], "y": xy[chosen, 1], "label": [name] * len(chosen), "index": chosen}
        )
        fig.scatter("x", "y", source=source, size=4, alpha=0.7, color=color, legend_label=name)
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "8pt"
    fig.axis.visible = False
    return fig
