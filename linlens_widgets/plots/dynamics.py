"""The training dynamics of a run: five panels stacked on one shared, linked x axis.

The widgets show *where* every sample's effective weights sit at one checkpoint; these panels
show *how* the whole probe set moves over training: the recorded loss/accuracy, the intra- and
inter-class similarity of W_eff (the paper's convergence/divergence), the kNN label agreement in
W_eff space against the inputs', and how each class's sub-clusters, found after training and
followed back through it, persist and stay apart (the paper's stylistic sub-classes of '1').
The panels mark each checkpoint and link their hover: every panel reads one
``ColumnDataSource``, so hovering a checkpoint highlights it everywhere. They only draw: the
values come from :func:`~linlens_widgets.analysis.over_run.dynamics_table`.

>>> from bokeh.io import show
>>> show(ll.plots.training_dynamics(run))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CrosshairTool, LinearAxis, Range1d, Span

from linlens_widgets.analysis.over_run import (
    AGREEMENT,
    AGREEMENT_CLASS,
    AGREEMENT_K,
    dynamics_table,
)
from linlens_widgets.plots.axes import (
    XScale,
    checkpoint_figure,
    checkpoint_source,
    resolve_x_scale,
)
from linlens_widgets.plots.marks import hover, legend_outside, series
from linlens_widgets.widgets.palettes import class_color, metric_colors

if TYPE_CHECKING:
    from bokeh.models import LayoutDOM

    from linlens_widgets.runs.store import Run

__all__ = ["training_dynamics"]


def _loss_panel(source: ColumnDataSource, table: dict[str, np.ndarray], scale: str) -> Any:
    """Draw the recorded losses on the left axis and the accuracies on a 0–1 right axis."""
    losses = [n for n in table if "loss" in n]
    accuracies = [n for n in table if "acc" in n]
    fig = checkpoint_figure("Loss and accuracy", scale, epochs=table["epoch"])
    fig.yaxis.axis_label = "loss"
    colors = metric_colors([*losses, *accuracies])
    renderers = [series(fig, source, name, name, colors[name]) for name in losses]
    if accuracies:
        fig.extra_y_ranges = {"accuracy": Range1d(0, 1.02)}
        fig.add_layout(LinearAxis(y_range_name="accuracy", axis_label="accuracy"), "right")
        renderers += [
            series(fig, source, name, name, colors[name], y_range_name="accuracy")
            for name in accuracies
        ]
    hover(fig, renderers, [(n, n) for n in losses + accuracies])
    return fig


def _similarity_panel(
    source: ColumnDataSource, scale: str, x_range: Any, epochs: np.ndarray
) -> Any:
    """Draw the intra- and inter-class similarity of W_eff (mean centred cosine)."""
    fig = checkpoint_figure(
        "Class similarity of W_eff (cosine, centred)", scale, x_range=x_range, epochs=epochs
    )
    fig.yaxis.axis_label = "mean centred cosine"
    colors = metric_colors(["intra", "inter"])
    renderers = [
        series(fig, source, "intra", "intra-class", colors["intra"]),
        series(fig, source, "inter", "inter-class", colors["inter"]),
    ]
    hover(fig, renderers, [("intra", "intra"), ("inter", "inter")])
    return fig


def _agreement_panel(
    source: ColumnDataSource,
    classes: Sequence[str],
    scale: str,
    x_range: Any,
    epochs: np.ndarray,
) -> Any:
    """Draw the kNN label agreement in W_eff space (bold), per class (faint), and in the inputs.

    The inputs' agreement is a dashed flat line: where the W_eff line sits against it says how
    much of the class structure the network's linear models keep, and what training adds.
    """
    fig = checkpoint_figure(
        f"Label agreement of the {AGREEMENT_K} nearest neighbours (centred cosine)",
        scale,
        x_range=x_range,
        epochs=epochs,
    )
    fig.yaxis.axis_label = "share of neighbours with the same label"
    colors = metric_colors(list(AGREEMENT))
    renderers = [
        series(fig, source, "agreement", "W_eff, all classes", colors["agreement"]),
        series(
            fig, source, "agreement_input", "inputs, all classes", colors["agreement_input"],
            line_dash="dashed",
        ),
    ]  # fmt: skip
    fields = [("W_eff", "agreement"), ("inputs", "agreement_input")]
    for k, name in enumerate(classes):
        column_name = f"{AGREEMENT_CLASS}{k}"
        if column_name not in source.data:
            continue
        color = class_color(k)
        renderers.append(series(fig, source, column_name, f"class {name}", color, emphasis=0.35))
        fields.append((f"class {name}", column_name))
    hover(fig, renderers, fields)
    return fig


def _highlighted_class(classes: Sequence[str], source: ColumnDataSource) -> int:
    """Class index drawn in bold: '1' (the paper's example) or else the most persistent class."""
    if "1" in classes:
        return list(classes).index("1")
    scores = [
        float(np.mean(source.data[f"persistence_{k}"]))
        for k in range(len(classes))
        if f"persistence_{k}" in source.data
    ]
    return int(np.argmax(scores)) if scores else -1


def _subcluster_panels(
    source: ColumnDataSource,
    classes: Sequence[str],
    scale: str,
    x_range: Any,
    epochs: np.ndarray | None = None,
) -> list[Any]:
    """Draw the persistence and separation of each class's tracked sub-clusters, a line each.

    Classes kept whole after training (one group) are drawn faint at 0; the highlighted class
    (see :func:`_highlighted_class`) is drawn bold.
    """
    panels = [
        ("persistence", "Sub-cluster persistence (ARI with the trained groups)", "ARI"),
        ("separation", "Sub-cluster separation (silhouette gain over a null)", "gain"),
    ]
    bold = _highlighted_class(classes, source)
    figures = []
    for prefix, title, axis_label in panels:
        fig = checkpoint_figure(title, scale, x_range=x_range, epochs=epochs)
        fig.yaxis.axis_label = axis_label
        renderers, fields = [], []
        for k, name in enumerate(classes):
            column_name = f"{prefix}_{k}"
            if column_name not in source.data:
                continue
            groups = int(source.data[f"groups_{k}"][0])
            emphasis = 1.0 if k == bold else 0.5 if groups > 1 else 0.25
            label = f"class {name} ({groups} group{'s' if groups != 1 else ''})"
            color = "black" if k == bold else class_color(k)
            renderers.append(series(fig, source, column_name, label, color, emphasis=emphasis))
            fields.append((f"class {name}", column_name))
        hover(fig, renderers, fields)
        figures.append(fig)
    return figures


def _link_crosshair(figures: Sequence[Any]) -> None:
    """One vertical crosshair line shared by all figures: it follows the mouse in every panel."""
    line = Span(dimension="height", line_dash="dotted", line_width=1, line_color="gray")
    for fig in figures:
        fig.add_tools(CrosshairTool(overlay=line))


def training_dynamics(
    run: Run, *, x_scale: XScale = "checkpoint", recompute: bool = False, progress: bool = True
) -> LayoutDOM:
    """Loss/accuracy, W_eff class similarity, kNN agreement and sub-clusters over training.

    Five panels stacked on one shared x axis (the epoch), one marker per checkpoint, a shared
    crosshair and linked hover (all panels read one data source, so hovering a checkpoint
    highlights it in every panel).

    Parameters
    ----------
    run
        A trained or loaded run.
    x_scale
        ``"checkpoint"`` (default: one step per checkpoint, labelled with epochs, as on the
        explorer's checkpoint slider), ``"linear"``, ``"log"`` (epoch 0 is drawn at the left
        edge), or ``"auto"``: log when the checkpoints are log-spaced over more than 1.5
        decades, else linear.
    recompute
        Recompute the lens analysis instead of reusing the one in the run's analysis store.
    progress
        Show a progress bar while the lens analysis is computed (default True).

    Returns
    -------
    LayoutDOM
        A Bokeh ``column`` of the five figures (show it, or pass it to ``file_html``).

    >>> from bokeh.io import show
    >>> show(ll.plots.training_dynamics(run))  # doctest: +SKIP
    """
    table = dynamics_table(run, recompute=recompute, progress=progress)
    scale = resolve_x_scale(table["epoch"], x_scale)
    source = checkpoint_source(table, scale)
    loss = _loss_panel(source, table, scale)
    similarity = _similarity_panel(source, scale, loss.x_range, table["epoch"])
    agreement = _agreement_panel(source, run.classes, scale, loss.x_range, table["epoch"])
    subclusters = _subcluster_panels(source, run.classes, scale, loss.x_range, table["epoch"])
    figures = [loss, similarity, agreement, *subclusters]
    for fig in figures:
        legend_outside(fig)
    _link_crosshair(figures)
    return column(*figures, name="training-dynamics")
