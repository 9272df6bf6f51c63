"""A standalone, offline HTML report of a run: its summary, its training dynamics, its classes.

>>> ll.plots.report(run, "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import Div
from bokeh.resources import INLINE

from linlens_widgets.plots.axes import FRAME_WIDTH
from linlens_widgets.plots.dynamics import training_dynamics
from linlens_widgets.plots.inputs import class_weights
from linlens_widgets.runs.atomic_write import check_output_target, write_file_atomically
from linlens_widgets.runs.summary import run_summary
from linlens_widgets.version import __version__

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run

__all__ = ["report"]


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
        parts += [Div(text=f"<p>{note}</p>", width=FRAME_WIDTH + 160), fig]
    parts += [
        Div(text=f"<p>{_INPUTS_NOTE}</p>", width=FRAME_WIDTH + 160),
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
    rows = {**run_summary(run), "linlens_widgets": __version__}
    items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in rows.items())
    return Div(text=f"<h1>{escape(title)}</h1><ul>{items}</ul>", width=FRAME_WIDTH + 200)
