"""How one series is drawn over the checkpoints: a line, a marker per checkpoint, hover, legend.

Every panel of :mod:`~linlens_widgets.plots.dynamics` and :mod:`~linlens_widgets.plots.panel`
draws its series here, so they all mark each checkpoint the same way, highlight it on (linked)
hover and keep their legends outside the plot area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bokeh.models import ColumnDataSource, HoverTool

__all__ = ["hover", "legend_outside", "series"]


def series(
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


def hover(fig: Any, renderers: list[Any], fields: Sequence[tuple[str, str]]) -> None:
    """Add one tooltip over ``renderers``: the checkpoint's epoch and step, then each field.

    ``fields`` are ``(label, column)`` pairs; ``mode="vline"`` shows every series at the
    checkpoint under the mouse.
    """
    tooltips = [("epoch", "@epoch{0.[000]}"), ("step", "@step{0}")]
    tooltips += [(label, f"@{{{name}}}{{0.[0000]}}") for label, name in fields]
    fig.add_tools(HoverTool(renderers=renderers, tooltips=tooltips, mode="vline"))


def legend_outside(fig: Any) -> None:
    """Move the legend right of the plot area (it never hides data); click an entry to hide it."""
    legend = fig.legend[0]
    legend.click_policy = "hide"
    legend.label_text_font_size = "9pt"
    legend.glyph_height = legend.glyph_width = 14
    legend.spacing = 0
    fig.add_layout(legend, "right")
