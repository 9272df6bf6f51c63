"""The package's colours, read from the one place they are declared: ``contract.json`` ``palettes``.

Classes, metrics, continuous values and signed weights each have one colour set, shared by the
notebook widgets and saved pages (``js/src/colormaps.js`` and ``js/src/contract.js`` read the
same lists), ``ll.plots`` and the report, the sweep page and the notebooks' static figures. A
class, a metric or a grid parameter therefore looks the same in every picture of a run.

>>> class_colors(3)
['#4e79a7', '#f28e2b', '#e15759']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from linlens_widgets.widgets.contract import CONTRACT

__all__ = [
    "CLASS_COLORS",
    "CURSOR_COLOR",
    "DIVERGING",
    "class_color",
    "class_colors",
    "metric_colors",
    "parameter_colors",
    "sequential_color",
]

_PALETTES: dict[str, Any] = CONTRACT["palettes"]

CLASS_COLORS: tuple[str, ...] = tuple(_PALETTES["classes"])
"""Colour of class ``k`` is ``CLASS_COLORS[k % len(CLASS_COLORS)]`` (also any categorical value)."""

DIVERGING: tuple[str, ...] = tuple(_PALETTES["diverging"])
"""Signed values, most negative (blue) to most positive (red), white at zero: a Bokeh palette."""
CURSOR_COLOR: str = CONTRACT["cursor_color"]
"""Colour of the checkpoint cursor in every chart (no metric has it)."""


def class_color(k: int) -> str:
    """Return the colour of class (or category) ``k``, cycling beyond the palette.

    >>> class_color(0) == class_color(len(CLASS_COLORS))
    True
    """
    return CLASS_COLORS[int(k) % len(CLASS_COLORS)]


def class_colors(n: int) -> list[str]:
    """Return the colours of classes ``0 … n-1`` (as the explorer's legend shows them)."""
    return [class_color(k) for k in range(n)]


def metric_colors(names: Sequence[str]) -> dict[str, str]:
    """Return the colour of each metric, the same in every chart of the package.

    A name of the contract's ``metrics`` map (spaces read as underscores) takes its colour; the
    others take the ``other`` colours in order, as the front end's ``metricColors`` does.

    >>> metric_colors(["test_acc", "train_loss"])
    {'test_acc': '#d62728', 'train_loss': '#1f77b4'}
    """
    table = _PALETTES["metrics"]
    others = iter(table["other"] * (1 + len(names)))
    out = {}
    for name in names:
        color = table.get(name.replace(" ", "_"))
        out[name] = color if isinstance(color, str) else next(others)
    return out


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def sequential_color(t: float) -> str:
    """Return the sequential (viridis) colour at ``t`` in [0, 1], linear between the stops.

    The front end's ``viridis`` samples the same stops the same way.

    >>> sequential_color(0.0), sequential_color(1.0)
    ('#440154', '#fde725')
    """
    stops = [_rgb(c) for c in _PALETTES["sequential"]]
    x = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    f = x - i
    rgb = [round(a + (b - a) * f) for a, b in zip(stops[i], stops[i + 1], strict=True)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def parameter_colors(values: Sequence[Any]) -> list[str]:
    """Colour per value of a grid parameter: sequential for numbers, the class palette otherwise.

    Numbers are placed on a log scale when all are positive and span more than a factor of 10
    (init scales, learning rates), else linearly.

    Examples
    --------
    >>> parameter_colors([0.001, 1.0])
    ['#440154', '#fde725']
    >>> parameter_colors(["a", "b", "a"])
    ['#4e79a7', '#f28e2b', '#4e79a7']
    """
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric and values:
        x = [float(v) for v in values]
        if min(x) > 0 and max(x) / min(x) > 10:
            x = [math.log10(v) for v in x]
        lo, hi = min(x), max(x)
        return [sequential_color((v - lo) / (hi - lo) if hi > lo else 0.0) for v in x]
    order: dict[str, int] = {}
    for v in values:
        order.setdefault(repr(v), len(order))
    return [class_color(order[repr(v)]) for v in values]
