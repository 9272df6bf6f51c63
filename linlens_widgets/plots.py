"""Bokeh figures of a run's training dynamics, and an offline HTML report.

The widgets show *where* every sample's effective weights sit at one checkpoint; these figures show
*how* the whole probe set moves over training: the recorded loss/accuracy, the intra- and
inter-class similarity of W_eff (the paper's convergence/divergence), and how each class's
sub-clusters, found after training and followed back through it, persist and stay apart (the
paper's stylistic sub-classes of '1'). All panels share the x axis (the
epoch, log-scaled when the checkpoints are log-spaced), mark each checkpoint, and link their hover:
every figure reads one ``ColumnDataSource``, so hovering a checkpoint highlights it everywhere.

The figures only draw: the per-checkpoint values come from :func:`dynamics_table`
(:mod:`linlens_widgets.analysis.over_run`), which computes each analysis once and keeps it in
the run's analysis store, so re-plotting, or plotting a run saved after plotting, is instant.

>>> import linlens_widgets as ll
>>> run = ll.Run.load("runs/digits")  # doctest: +SKIP
>>> ll.plots.report(run, "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    CrosshairTool,
    Div,
    FixedTicker,
    HoverTool,
    LinearAxis,
    Range1d,
    Span,
)
from bokeh.plotting import figure
from bokeh.resources import INLINE

from linlens_widgets.analysis.over_run import (
    AGREEMENT,
    AGREEMENT_CLASS,
    AGREEMENT_K,
    RESERVED_COLUMNS,
    SIMILARITY,
    LensAnalysis,
    dynamics_table,
    is_agreement,
    lens_needed,
    metric_column,
    recorded_metrics,
)
from linlens_widgets.runs.atomic_write import check_output_target, write_file_atomically
from linlens_widgets.version import __version__
from linlens_widgets.widgets import palettes
from linlens_widgets.widgets.palettes import class_color, class_colors, metric_colors

if TYPE_CHECKING:
    from bokeh.models import LayoutDOM

    from linlens_widgets.runs.store import Run

__all__ = [
    "CURSOR_COLOR",
    "CURSOR_NAME",
    "DIVERGING_PALETTE",
    "RESERVED_COLUMNS",
    "LensAnalysis",
    "ResolvedScale",
    "XScale",
    "class_color",
    "class_colors",
    "class_weights",
    "dynamics_table",
    "embedding_figure",
    "metric_colors",
    "metric_column",
    "metric_panel",
    "plot_x",
    "report",
    "resolve_x_scale",
    "training_dynamics",
]

XScale = Literal["checkpoint", "auto", "linear", "log"]
ResolvedScale = Literal["checkpoint", "linear", "log"]

CURSOR_NAME = "epoch-cursor"
"""Name of the vertical ``Span`` that :func:`metric_panel` places at the shown epoch."""

_CONTRACT_FILE = Path(__file__).with_name("widgets") / "contract.json"
DIVERGING_PALETTE: tuple[str, ...] = palettes.DIVERGING
"""Colours for signed values (W_eff, similarities), blue negative to red positive, as the widgets
draw them: pass it as the ``palette`` of a Bokeh colour mapper centred on zero."""
CURSOR_COLOR: str = json.loads(_CONTRACT_FILE.read_text(encoding="utf-8"))["cursor_color"]
"""Colour of the checkpoint cursor (no metric has it); shared with the front end's contract."""


_FRAME_WIDTH = 560  # fixed plot area, so stacked panels share x positions whatever their legends
_PANEL_HEIGHT = 180


# --------------------------------------------------------------------------- x axis


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


def _source(table: dict[str, np.ndarray], scale: ResolvedScale) -> ColumnDataSource:
    data = {name: values.tolist() for name, values in table.items()}
    data["x"] = plot_x(table["epoch"], scale).tolist()
    return ColumnDataSource(data=data, name="checkpoints")


def _figure(
    title: str,
    scale: str,
    *,
    x_range: Any = None,
    height: int = _PANEL_HEIGHT,
    fixed_frame: bool = True,
    epochs: np.ndarray | None = None,
) -> Any:
    """Return a figure; ``fixed_frame`` sizes the plot area (stacked panels), else the whole."""
    size = ("frame_width", "frame_height") if fixed_frame else ("width", "height")
    options: dict[str, Any] = {
        "title": title,
        "x_axis_type": "linear" if scale == "checkpoint" else scale,
        size[0]: _FRAME_WIDTH if fixed_frame else _FRAME_WIDTH + 160,
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


def _series(
    fig: Any,
    source: ColumnDataSource,
    column_name: str,
    label: str,
    color: str,
    *,
    emphasis: float = 1.0,
    **extra: Any,
) -> Any:
    """Draw a line through the checkpoints and a marker at each, highlighted on (linked) hover.

    ``emphasis`` below 1 draws a thinner, fainter series (context lines behind a main one).
    """
    fig.line(
        "x",
        column_name,
        source=source,
        color=color,
        line_width=2 * emphasis,
        alpha=min(1.0, 0.2 + emphasis),
        legend_label=label,
        **extra,
    )
    renderer = fig.scatter(
        "x",
        column_name,
        source=source,
        color=color,
        alpha=min(1.0, 0.2 + emphasis),
        size=6 * emphasis,
        hover_fill_color="black",
        hover_line_color="black",
        legend_label=label,
        **extra,
    )
    renderer.hover_glyph.size = 10
    return renderer


def _hover(fig: Any, renderers: list[Any], fields: Sequence[tuple[str, str]]) -> None:
    tooltips = [("epoch", "@epoch{0.[000]}"), ("step", "@step{0}")]
    tooltips += [(label, f"@{{{name}}}{{0.[0000]}}") for label, name in fields]
    fig.add_tools(HoverTool(renderers=renderers, tooltips=tooltips, mode="vline"))


# --------------------------------------------------------------------------- panels


def _loss_panel(source: ColumnDataSource, table: dict[str, np.ndarray], scale: str) -> Any:
    losses = [n for n in table if "loss" in n]
    accuracies = [n for n in table if "acc" in n]
    fig = _figure("Loss and accuracy", scale, epochs=table["epoch"])
    fig.yaxis.axis_label = "loss"
    colors = metric_colors([*losses, *accuracies])
    renderers = [_series(fig, source, name, name, colors[name]) for name in losses]
    if accuracies:
        fig.extra_y_ranges = {"accuracy": Range1d(0, 1.02)}
        fig.add_layout(LinearAxis(y_range_name="accuracy", axis_label="accuracy"), "right")
        renderers += [
            _series(fig, source, name, name, colors[name], y_range_name="accuracy")
            for name in accuracies
        ]
    _hover(fig, renderers, [(n, n) for n in losses + accuracies])
    return fig


def _similarity_panel(
    source: ColumnDataSource, scale: str, x_range: Any, epochs: np.ndarray
) -> Any:
    fig = _figure(
        "Class similarity of W_eff (cosine, centred)", scale, x_range=x_range, epochs=epochs
    )
    fig.yaxis.axis_label = "mean centred cosine"
    colors = metric_colors(["intra", "inter"])
    renderers = [
        _series(fig, source, "intra", "intra-class", colors["intra"]),
        _series(fig, source, "inter", "inter-class", colors["inter"]),
    ]
    _hover(fig, renderers, [("intra", "intra"), ("inter", "inter")])
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
    fig = _figure(
        f"Label agreement of the {AGREEMENT_K} nearest neighbours (centred cosine)",
        scale,
        x_range=x_range,
        epochs=epochs,
    )
    fig.yaxis.axis_label = "share of neighbours with the same label"
    colors = metric_colors(list(AGREEMENT))
    renderers = [
        _series(fig, source, "agreement", "W_eff, all classes", colors["agreement"]),
        _series(
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
        renderers.append(_series(fig, source, column_name, f"class {name}", color, emphasis=0.35))
        fields.append((f"class {name}", column_name))
    _hover(fig, renderers, fields)
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
        fig = _figure(title, scale, x_range=x_range, epochs=epochs)
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
            renderers.append(_series(fig, source, column_name, label, color, emphasis=emphasis))
            fields.append((f"class {name}", column_name))
        _hover(fig, renderers, fields)
        figures.append(fig)
    return figures


def _link_crosshair(figures: Sequence[Any]) -> None:
    """One vertical crosshair line shared by all figures: it follows the mouse in every panel."""
    line = Span(dimension="height", line_dash="dotted", line_width=1, line_color="gray")
    for fig in figures:
        fig.add_tools(CrosshairTool(overlay=line))


def _legend_outside(fig: Any) -> None:
    """Move the legend right of the plot area (it never hides data); click an entry to hide it."""
    legend = fig.legend[0]
    legend.click_policy = "hide"
    legend.label_text_font_size = "9pt"
    legend.glyph_height = legend.glyph_width = 14
    legend.spacing = 0
    fig.add_layout(legend, "right")


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
    source = _source(table, scale)
    loss = _loss_panel(source, table, scale)
    similarity = _similarity_panel(source, scale, loss.x_range, table["epoch"])
    agreement = _agreement_panel(source, run.classes, scale, loss.x_range, table["epoch"])
    subclusters = _subcluster_panels(source, run.classes, scale, loss.x_range, table["epoch"])
    figures = [loss, similarity, agreement, *subclusters]
    for fig in figures:
        _legend_outside(fig)
    _link_crosshair(figures)
    return column(*figures, name="training-dynamics")


def metric_panel(
    run: Run,
    metrics: Sequence[str] | None = None,
    *,
    x_scale: XScale = "checkpoint",
    epoch: float | None = None,
    height: int = _PANEL_HEIGHT,
    progress: bool = True,
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
        Show a progress bar while the lens analysis is computed (default True).

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
    names = (
        list(metrics) if metrics is not None else [*recorded_metrics(run), *SIMILARITY, *AGREEMENT]
    )
    table = dynamics_table(run, lens=lens_needed(names), progress=progress)
    unknown = [name for name in names if name not in table]
    if unknown:
        available = ", ".join(n for n in table if n not in ("epoch", "step"))
        raise KeyError(f"unknown metric(s) {', '.join(unknown)}; available: {available}")
    scale = resolve_x_scale(table["epoch"], x_scale)
    source = _source(table, scale)
    fig = _figure(
        "Metrics over training", scale, height=height, fixed_frame=False, epochs=table["epoch"]
    )
    renderers = _axis_series(fig, source, names)
    _hover(fig, renderers, [(n, n) for n in names])
    _legend_outside(fig)
    fig.add_layout(
        Span(
            name=CURSOR_NAME,
            location=_cursor_x(table["epoch"], scale, epoch),
            dimension="height",
            line_color=CURSOR_COLOR,
            line_dash="dashed",
            line_width=2,
        )
    )
    return fig


def _cursor_x(epochs: np.ndarray, scale: ResolvedScale, epoch: float | None) -> float:
    """Return the x of the cursor at ``epoch`` (default the last checkpoint)."""
    if epoch is None:
        return float(plot_x(epochs, scale)[-1])
    if scale == "checkpoint":  # the checkpoint nearest the epoch
        return float(np.argmin(np.abs(epochs - float(epoch))))
    return float(plot_x(np.append(epochs, float(epoch)), scale)[-1])


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
    from bokeh.models import DataRange1d

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
        drawn = [_series(fig, source, n, n, colors[n], **extra) for n in members]
        target = fig.y_range if i == 0 else fig.extra_y_ranges[kind]
        target.renderers = drawn
        renderers += drawn
    return renderers


# --------------------------------------------------------------------------- embedding


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


# --------------------------------------------------------------------------- report


def report(run: Run, path: str | Path, *, title: str | None = None, progress: bool = True) -> Path:
    """Write a standalone, offline HTML report of the run's training dynamics.

    BokehJS is inlined (``resources=INLINE``): the page loads no script or stylesheet from the
    network, so it opens offline and can be mailed or archived as one file.

    Parameters
    ----------
    run
        A trained or loaded run.
    path
        The ``.html`` file to write (parent folders are created).
    title
        Page title (default: "linlens report: <dataset>").
    progress
        Show a progress bar while the lens analysis is computed (default True).

    Returns
    -------
    Path
        The written file.

    >>> ll.plots.report(run, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    path = check_output_target(Path(path).expanduser())  # before the (long) analysis
    title = title or f"linlens report: {run.dataset_name}"
    figures = training_dynamics(run, progress=progress).children
    parts: list[Any] = [_report_header(run, title)]
    for fig, note in zip(figures, _REPORT_NOTES, strict=False):
        parts += [Div(text=f"<p>{note}</p>", width=_FRAME_WIDTH + 160), fig]
    parts += [
        Div(text=f"<p>{_INPUTS_NOTE}</p>", width=_FRAME_WIDTH + 160),
        class_weights(run),
    ]
    layout = column(*parts, margin=(16, 40, 40, 40), name="report")
    html = file_html(layout, resources=INLINE, title=title)
    return write_file_atomically(path, html.encode("utf-8"))


_REPORT_NOTES = (
    "<b>Loss and accuracy.</b> What to look for: when the test loss stops falling while the "
    "training loss still does, the network starts to memorise; the x axis steps one checkpoint "
    "at a time, labelled with the epoch, like the explorer's slider.",
    "<b>Class similarity of the effective weights.</b> What to look for: intra-class similarity "
    "rising while inter-class similarity stays near 0 means each class gets its own linear "
    "template. Centred cosine: the mean W_eff over the probe samples is subtracted first.",
    "<b>Nearest-neighbour label agreement.</b> What to look for: the share of each sample's 10 "
    "nearest neighbours in W_eff space that carry its label (bold), against the same share in the "
    "inputs (dashed). Near the dashed line at initialisation: the random network's W_eff mirrors "
    "the input (its masks D(x) are chosen by x); the distance between the lines after training "
    "is what training added or lost. Faint lines: one class each.",
    "<b>Sub-cluster persistence.</b> What to look for: a class whose line is high already at "
    "initialisation keeps the same sub-groups of samples throughout training (the bold class).",
    "<b>Sub-cluster separation.</b> What to look for: how far apart the trained groups are at "
    "each checkpoint; above 0 means more separated than a structureless class would be.",
)


_INPUTS_NOTE = (
    "<b>Inputs and their effective weights after training.</b> Each class's first probe input as "
    "the data set shows it, above the mean W_eff of that class's output over its probe samples "
    "(for colour inputs summed over the channels); the explorer compares any two samples."
)


def _report_header(run: Run, title: str) -> Div:
    """Return the page title and the run's summary (the lines ``linlens info`` prints)."""
    from html import escape

    from linlens_widgets.runs.summary import run_summary

    rows = {**run_summary(run), "linlens_widgets": __version__}
    items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in rows.items())
    return Div(text=f"<h1>{escape(title)}</h1><ul>{items}</ul>", width=_FRAME_WIDTH + 200)


# --------------------------------------------------------------------------- inputs and W_eff

_TILE = 96
"""Width of one class's image in :func:`class_weights`, in screen pixels."""


def class_weights(run: Run, checkpoint: int = -1) -> LayoutDOM:
    """Each class's first probe input, as the user sees it, over its class-mean W_eff.

    Images: the top row shows one probe sample per class in its own colours (un-normalised,
    ``run.probe_images()``); the bottom row the class-mean W_eff of that class's output, summed
    over the colour channels (the convention of Captum's heat maps), on a symmetric diverging scale
    (red positive, blue negative) of its own, written under it: classes learn at different
    speeds, and one shared scale would leave the slower ones blank. Feature vectors: one signed
    bar row per class with the feature names, on one shared scale.

    Parameters
    ----------
    run
        A trained or loaded run.
    checkpoint
        Checkpoint index (negative counts from the end; default the last).

    Returns
    -------
    bokeh.models.LayoutDOM

    >>> show(ll.plots.class_weights(run))  # doctest: +SKIP
    """
    from bokeh.layouts import gridplot, row

    from linlens_widgets.analysis.metrics import class_mean_weights
    from linlens_widgets.analysis.weights import run_weights
    from linlens_widgets.runs.indexing import checkpoint_index

    cid = checkpoint_index(checkpoint, len(run.checkpoints))
    ew = run_weights(run).effective_weights(cid)
    labels = np.asarray(run.probe_labels)
    n_classes = len(run.classes)
    means = class_mean_weights(ew, labels, n_classes).numpy()
    own = np.stack([means[k, k].reshape(-1) for k in range(n_classes)])  # (classes, D)
    names = [str(c) for c in run.classes]
    epoch = run.checkpoints[cid].epoch
    title = f"class-mean W_eff of each class's own output, epoch {epoch:g}"
    if not run.display.is_image:
        return _feature_rows(own, list(run.feature_names), names, title)
    c, h, w = run.display.shape
    summed = own.reshape(n_classes, c, h, w).sum(axis=1)
    images = run.probe_images()
    tops, bottoms = [], []
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        top = _tile(names[k])
        if len(members):
            top.image_rgba(
                image=[_rgba(images[members[0]])], x=0, y=0, dw=w, dh=h, name=f"input {k}"
            )
        tops.append(top)
        vmax = float(np.nan_to_num(np.abs(summed[k])).max()) or 1.0
        bottom = _tile(f"±{vmax:.2g}")
        bottom.image(
            image=[np.flipud(summed[k])],
            x=0,
            y=0,
            dw=w,
            dh=h,
            color_mapper=_diverging(vmax),
            name=f"weights {k}",
        )
        bottoms.append(bottom)
    channel_note = " (sum over channels)" if c > 1 else ""
    head = Div(
        text=f"<b>{title}</b>{channel_note}: top, the class's first probe input; bottom, W_eff "
        "(red positive, blue negative; each class on its own scale, written above it)",
        width=max(_TILE * min(n_classes, 10) + 40, 640),
    )
    grid = gridplot([tops, bottoms], toolbar_location=None)
    return column(head, row(grid))


def _tile(title: str) -> Any:
    fig = figure(
        width=_TILE, height=_TILE + (20 if title else 0), title=title or None, toolbar_location=None
    )
    if title:
        fig.title.text_font_size = "9pt"
    fig.axis.visible = False
    fig.grid.visible = False
    fig.x_range.range_padding = fig.y_range.range_padding = 0
    fig.min_border = 2
    return fig


def _rgba(image: np.ndarray) -> np.ndarray:
    """Return a uint8 (H, W, C) image as the uint32 RGBA plane Bokeh draws (rows bottom-up)."""
    h, w, c = image.shape
    rgb = np.repeat(image, 3, axis=2) if c == 1 else image[..., :3]
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = 255
    return np.flipud(out).copy().view(np.uint32).reshape(h, w)


def _diverging(vmax: float) -> Any:
    from bokeh.models import LinearColorMapper

    return LinearColorMapper(palette=list(DIVERGING_PALETTE), low=-vmax, high=vmax)


def _feature_rows(own: np.ndarray, features: list[str], classes: list[str], title: str) -> Any:
    """One signed bar row per class over the named features (red positive, blue negative)."""
    from bokeh.layouts import row

    vmax = float(np.nanmax(np.abs(own))) or 1.0
    figs = []
    for k, name in enumerate(classes):
        fig = figure(
            width=200 if k else 320,
            height=18 * len(features) + 60,
            y_range=list(reversed(features)),
            x_range=(-vmax * 1.05, vmax * 1.05),
            title=name,
            toolbar_location=None,
        )
        colors = ["#b2182b" if v >= 0 else "#2166ac" for v in own[k]]
        fig.hbar(y=features, right=own[k], height=0.7, color=colors, name=f"weights {k}")
        fig.yaxis.visible = k == 0
        fig.xaxis.major_label_orientation = 0.8
        figs.append(fig)
    return column(Div(text=f"<b>{title}</b> (red positive, blue negative)"), row(*figs))
