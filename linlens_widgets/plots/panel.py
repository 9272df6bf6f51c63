"""One figure of per-checkpoint metrics with a movable epoch cursor: the explorer's panel.

Any column of :func:`~linlens_widgets.analysis.over_run.dynamics_table` can be drawn; each
kind of value (loss, accuracy and kNN agreement, cosine, other) gets its own labelled y axis, and
only the lens analyses that provide the drawn columns are computed. The cursor is a vertical
``Span`` named :data:`CURSOR_NAME` that a front end moves to the shown checkpoint.

>>> fig = ll.plots.metric_panel(run, ["intra", "inter"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bokeh.models import ColumnDataSource, DataRange1d, LinearAxis, Span

from linlens_widgets.analysis.over_run import (
    SIMILARITY,
    dynamics_table,
    is_agreement,
    lens_needed,
    panel_columns,
)
from linlens_widgets.plots.axes import (
    PANEL_HEIGHT,
    XScale,
    checkpoint_figure,
    checkpoint_source,
    cursor_x,
    resolve_x_scale,
)
from linlens_widgets.plots.marks import hover, legend_outside, series
from linlens_widgets.progress import Progress
from linlens_widgets.widgets.palettes import CURSOR_COLOR, metric_colors

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run

__all__ = ["CURSOR_NAME", "metric_panel"]

CURSOR_NAME = "epoch-cursor"
"""Name of the vertical ``Span`` that :func:`metric_panel` places at the shown epoch."""


def metric_panel(
    run: Run,
    metrics: Sequence[str] | None = None,
    *,
    x_scale: XScale = "checkpoint",
    epoch: float | None = None,
    height: int = PANEL_HEIGHT,
    progress: Progress = True,
) -> Any:
    """One figure of per-checkpoint metrics with a movable epoch cursor.

    The cursor is a vertical ``Span`` named ``"epoch-cursor"`` (:data:`CURSOR_NAME`); a front end
    moves it by setting its ``location`` to the shown checkpoint's x, which is the checkpoint's
    epoch on a linear axis and, in general, ``source.data["x"][position]`` of the figure's
    ``ColumnDataSource`` named ``"checkpoints"``.

    Parameters
    ----------
    run
        A trained or loaded run.
    metrics
        Columns of :func:`dynamics_table` to draw (default: the recorded checkpoint
        metrics plus ``intra``, ``inter``, ``agreement`` and ``agreement_input``).
    x_scale
        ``"checkpoint"`` (default: evenly spaced like the checkpoint slider, epoch tick
        labels), ``"linear"``, ``"log"`` or ``"auto"``, as in :func:`training_dynamics`.
    epoch
        Where the cursor starts (default: the last checkpoint's epoch).
    height
        Figure height in pixels (default 180).
    progress
        Show a progress bar while the lens analysis is computed (default True), or a
        ``linlens_widgets.progress.ProgressHook`` told each checkpoint done.

    Returns
    -------
    bokeh.plotting.figure
        The figure; ``fig.select_one({"name": "epoch-cursor"})`` is the
        cursor.

    Raises
    ------
    KeyError
        When a requested metric is not available, naming the available ones.

    >>> fig = ll.plots.metric_panel(run, ["intra", "inter"])  # doctest: +SKIP
    >>> fig.select_one({"name": "epoch-cursor"}).location  # doctest: +SKIP
    20.0
    """
    names = panel_columns(run, metrics)
    table = dynamics_table(run, lens=lens_needed(names), progress=progress)
    unknown = [name for name in names if name not in table]
    if unknown:
        available = ", ".join(n for n in table if n not in ("epoch", "step"))
        raise KeyError(f"unknown metric(s) {', '.join(unknown)}; available: {available}")
    scale = resolve_x_scale(table["epoch"], x_scale)
    source = checkpoint_source(table, scale)
    fig = checkpoint_figure(
        "Metrics over training", scale, height=height, fixed_frame=False, epochs=table["epoch"]
    )
    renderers = _axis_series(fig, source, names)
    hover(fig, renderers, [(n, n) for n in names])
    legend_outside(fig)
    fig.add_layout(
        Span(
            name=CURSOR_NAME,
            location=cursor_x(table["epoch"], scale, epoch),
            dimension="height",
            line_color=CURSOR_COLOR,
            line_dash="dashed",
            line_width=2,
        )
    )
    return fig


_AXES = (
    ("loss", "loss", lambda name: "loss" in name),
    ("accuracy", "accuracy", lambda name: "acc" in name and not is_agreement(name)),
    ("accuracy", "kNN agreement", is_agreement),
    ("cosine", "centred cosine", lambda name: name in SIMILARITY),
)


def _axis_series(fig: Any, source: ColumnDataSource, names: Sequence[str]) -> list[Any]:
    """Draw each metric against a labelled y axis of its kind (loss, accuracy, cosine, other).

    The first kind present takes the left axis, the others their own axes on the right, each
    fitted to its own series only, so loss, accuracy and cosine never share an unlabelled scale.
    Accuracies and kNN agreements are both shares of samples: they share one axis, labelled with
    what it carries.
    """
    colors = metric_colors(names)
    kinds: dict[str, list[str]] = {}
    carried: dict[str, list[str]] = {}
    for name in names:
        kind, label = next(((k, t) for k, t, match in _AXES if match(name)), ("value", "value"))
        kinds.setdefault(kind, []).append(name)
        if label not in carried.setdefault(kind, []):
            carried[kind].append(label)
    labels = {kind: " · ".join(parts) for kind, parts in carried.items()}
    renderers = []
    for i, (kind, members) in enumerate(kinds.items()):
        extra: dict[str, Any] = {}
        if i == 0:
            fig.yaxis.axis_label = labels[kind]
        else:
            fig.extra_y_ranges = {**fig.extra_y_ranges, kind: DataRange1d()}
            fig.add_layout(LinearAxis(y_range_name=kind, axis_label=labels[kind]), "right")
            extra["y_range_name"] = kind
        drawn = [series(fig, source, n, n, colors[n], **extra) for n in members]
        target = fig.y_range if i == 0 else fig.extra_y_ranges[kind]
        target.renderers = drawn
        renderers += drawn
    return renderers
