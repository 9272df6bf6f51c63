"""Bokeh figures of a run's training dynamics, and an offline HTML report.

Each module draws one thing: :mod:`~.axes` the shared checkpoint/epoch x axis, :mod:`~.marks` a
series over the checkpoints, :mod:`~.dynamics` the five stacked panels of
:func:`training_dynamics`, :mod:`~.panel` the explorer's :func:`metric_panel`, :mod:`~.embedding`
a static layout, :mod:`~.inputs` :func:`class_weights`, :mod:`~.html_report` the offline
:func:`report`. They only draw: the values over a run come from :func:`dynamics_table`
(:mod:`linlens_widgets.analysis.over_run`, which computes each analysis once and keeps it in the
run's analysis store), and the colours from the widget contract.

>>> import linlens_widgets as ll
>>> run = ll.Run.load("runs/digits")  # doctest: +SKIP
>>> ll.plots.report(run, "report.html")  # doctest: +SKIP
"""

from linlens_widgets.analysis.over_run import (
    RESERVED_COLUMNS,
    LensAnalysis,
    dynamics_table,
    metric_column,
)
from linlens_widgets.plots.axes import ResolvedScale, XScale, plot_x, resolve_x_scale
from linlens_widgets.plots.dynamics import training_dynamics
from linlens_widgets.plots.embedding import embedding_figure
from linlens_widgets.plots.html_report import report
from linlens_widgets.plots.inputs import DIVERGING_PALETTE, class_weights
from linlens_widgets.plots.panel import CURSOR_NAME, metric_panel
from linlens_widgets.widgets.palettes import (
    CURSOR_COLOR,
    class_color,
    class_colors,
    metric_colors,
)

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
