"""The metric a sweep explorer overlays across runs, as the front end's chart draws it.

A checkpoint metric (``test_acc``…), a phenomenon (``alignment``…) or the class similarity
(``intra``, ``inter``) of every completed run over its epochs, each run in its colour, on the
x axis the package's other charts would use for the same epochs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from linlens_widgets.progress import tqdm
from linlens_widgets.widgets import run_facts

__all__ = ["default_metric", "metric_chart", "metric_values"]


def default_metric(run: Any) -> str:
    """Return the metric a sweep chart shows by default: accuracy when recorded, else the first."""
    names: dict[str, None] = {}
    for c in run.checkpoints:
        names.update(dict.fromkeys(c.metrics))
    found = run_facts.find_metric(dict.fromkeys(names, 0.0), run_facts.ACCURACY_KEYS)
    if found is not None:
        return found
    if not names:
        raise ValueError("the runs record no checkpoint metrics; pass metric=...")
    return next(iter(names))


def metric_values(run: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (epochs, values) of one metric over a run's checkpoints.

    Checkpoint metrics are read from the run; the phenomena (``alignment``…) through
    ``phenomena_over_run``, which reuses what a sweep's analyses stored with the run; ``intra``
    and ``inter`` through ``dynamics_table`` (:mod:`linlens_widgets.analysis.over_run`, computed
    once and attached).
    """
    from linlens_widgets.analysis.over_run import SIMILARITY, dynamics_table
    from linlens_widgets.analysis.phenomena import PHENOMENA, phenomena_over_run

    epochs = np.asarray([float(c.epoch) for c in run.checkpoints], dtype=np.float64)
    if any(name in c.metrics for c in run.checkpoints):
        values = [float(c.metrics.get(name, math.nan)) for c in run.checkpoints]
        return epochs, np.asarray(values, dtype=np.float64)
    if name in PHENOMENA:
        table = phenomena_over_run(run, (name,), progress=False)
        return epochs, np.asarray(table[name], dtype=np.float64)
    if name in SIMILARITY:
        table = dynamics_table(run, lens=["similarity"], progress=False)
        return epochs, np.asarray(table[name], dtype=np.float64)
    raise ValueError(
        f"metric {name!r} is neither recorded with the checkpoints nor one of "
        f"{sorted([*PHENOMENA, *SIMILARITY])}"
    )


def metric_chart(
    sweep: Any, name: str, color_by: str, colors: Sequence[str], axis: Sequence[float]
) -> dict[str, Any]:
    """Return the sweep chart (``js/src/chart.js`` spec): every completed run's ``name``.

    One line per completed run, in the run's colour; the x axis is linear or log by the package's
    one rule (``plots.resolve_x_scale`` over every run's epochs), and ``cursor[k]`` is where
    position ``k`` of the common epoch ``axis`` is drawn.
    """
    from linlens_widgets import plots

    runs = sweep.runs
    rows = [
        metric_values(runs[i], name)
        for i in tqdm(range(len(sweep.completed)), desc=f"metric {name}", leave=False)
    ]
    every = np.concatenate([e for e, _ in rows] + [np.asarray(axis, dtype=np.float64)])
    scale = plots.resolve_x_scale(every, "auto")
    drawn = plots.plot_x(every, scale)
    xs, start = [], 0
    for epochs, _ in rows:
        xs.append(drawn[start : start + len(epochs)])
        start += len(epochs)
    series = [
        {
            "name": point.label or point.name,
            "color": colors[i],
            "x": [float(v) for v in xs[i]],
            "y": [float(v) if math.isfinite(v) else None for v in rows[i][1]],
        }
        for i, point in enumerate(sweep.completed)
    ]
    return {
        "title": f"{name} of every run, coloured by {color_by}",
        "xLabel": "epoch",
        "yLabel": name,
        "xScale": "log" if scale == "log" else "linear",
        "legend": "below",
        "series": series,
        "cursor": [float(v) for v in drawn[start:]],
    }
