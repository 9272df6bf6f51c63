"""Which runs a sweep explorer shows, and how their checkpoints line up in training time.

The runs of a sweep rarely share checkpoints (other schedules, fractional epochs). The explorer
walks one common epoch axis, the sorted union of the runs' checkpoint epochs
(:func:`common_epochs`), and at each of its epochs every run shows its latest checkpoint at or
before it (:func:`align_checkpoints`). The run choice (:func:`choose_runs`) keeps one seed per
configuration, and :func:`check_shared_probe` refuses runs whose probes differ (brushing selects
probe indices, the same samples in every scatter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linlens_widgets.lens.arrays import to_numpy

__all__ = [
    "DEFAULT_MAX_PANELS",
    "EPOCH_TOLERANCE",
    "align_checkpoints",
    "check_shared_probe",
    "choose_runs",
    "common_epochs",
    "default_color_by",
    "resolve_runs",
]

DEFAULT_MAX_PANELS = 6
"""Most scatters shown side by side by default (each is a WebGL canvas)."""

EPOCH_TOLERANCE = 1e-9
"""Epochs closer than this (relative) count as equal when aligning checkpoints."""


def common_epochs(epoch_lists: Sequence[Sequence[float]]) -> np.ndarray:
    """Return the common epoch axis of several runs: the sorted union of their epochs.

    Epochs that differ by less than a relative ``EPOCH_TOLERANCE`` are merged, so float noise in
    fractional epochs does not double a checkpoint.

    Examples
    --------
    >>> common_epochs([[0.0, 0.5, 1.0], [0.0, 0.25, 1.0]]).tolist()
    [0.0, 0.25, 0.5, 1.0]
    """
    if not epoch_lists or any(len(e) == 0 for e in epoch_lists):
        raise ValueError("every run needs at least one checkpoint to align")
    values = np.sort(np.concatenate([np.asarray(e, dtype=np.float64) for e in epoch_lists]))
    keep = [values[0]]
    for v in values[1:]:
        if v - keep[-1] > EPOCH_TOLERANCE * max(1.0, abs(v)):
            keep.append(v)
    return np.asarray(keep, dtype=np.float64)


def align_checkpoints(run_epochs: Sequence[float], axis: Sequence[float]) -> np.ndarray:
    """Map each epoch of a common axis to a run's latest checkpoint at or before it.

    Parameters
    ----------
    run_epochs
        The epoch of each of the run's shown checkpoints, ascending.
    axis
        The common epoch axis (ascending).

    Returns
    -------
    np.ndarray
        One position into ``run_epochs`` per axis epoch (int64). An axis epoch earlier than the
        run's first checkpoint maps to that first checkpoint (nothing earlier exists to show).

    Raises
    ------
    ValueError
        When ``run_epochs`` is empty or not ascending.

    Examples
    --------
    >>> align_checkpoints([0.0, 0.5, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0]).tolist()
    [0, 0, 1, 1, 2]
    """
    epochs = np.asarray(run_epochs, dtype=np.float64)
    if epochs.size == 0:
        raise ValueError("the run has no checkpoints to align")
    if np.any(np.diff(epochs) < 0):
        raise ValueError(f"checkpoint epochs must be ascending, got {epochs.tolist()}")
    at = np.asarray(axis, dtype=np.float64)
    slack = EPOCH_TOLERANCE * np.maximum(1.0, np.abs(at))
    pos = np.searchsorted(epochs, at + slack, side="right") - 1
    return np.clip(pos, 0, epochs.size - 1).astype(np.int64)


def choose_runs(
    params: Sequence[dict[str, Any]],
    color_by: str,
    *,
    max_panels: int = DEFAULT_MAX_PANELS,
    seed_key: str = "seed",
) -> list[int]:
    """Choose which completed runs get a scatter: the first seed's, ordered by ``color_by``.

    Runs whose ``seed`` is not the grid's first seed are left out (seeds repeat a configuration;
    the small multiples compare configurations). The rest keep grid order within each value of
    ``color_by``, values in ascending order (grid order for values that do not sort), and at
    most ``max_panels`` are kept.

    Parameters
    ----------
    params
        Grid parameters of each completed run (``Sweep.params``).
    color_by
        The grid parameter the panels are compared over.
    max_panels
        Most runs to return.
    seed_key
        Name of the seed parameter.

    Returns
    -------
    list[int]
        Positions into ``params``.

    Examples
    --------
    >>> p = [{"s": 1.0, "seed": 0}, {"s": 1.0, "seed": 1}, {"s": 0.01, "seed": 0}]
    >>> choose_runs(p, "s")
    [2, 0]
    """
    if max_panels < 1:
        raise ValueError(f"max_panels must be at least 1, got {max_panels}")
    if not params:
        raise ValueError("the sweep has no completed runs to show")
    missing = [i for i, p in enumerate(params) if color_by not in p]
    if missing:
        raise ValueError(
            f"color_by={color_by!r} is not a grid parameter of every run; the grid has "
            f"{sorted(params[missing[0]])}"
        )
    chosen = list(range(len(params)))
    seeds = [p[seed_key] for p in params if seed_key in p]
    if seeds and color_by != seed_key:
        first = seeds[0]
        chosen = [i for i in chosen if params[i].get(seed_key, first) == first]
    values = _distinct([params[i][color_by] for i in chosen])
    order = {_key(v): k for k, v in enumerate(_sorted_values(values))}
    chosen.sort(key=lambda i: order[_key(params[i][color_by])])
    return chosen[:max_panels]


def check_shared_probe(runs: Sequence[Any], labels: Sequence[str]) -> None:
    """Raise ValueError unless every run has the same probe samples (inputs and labels).

    Brushing selects probe indices, so "the same samples in every scatter" is only true when
    the runs share one probe.

    Raises
    ------
    ValueError
        Naming the first run whose probe differs from the first run's, and how.
    """
    first = runs[0]
    x0, y0 = to_numpy(first.probe_inputs), to_numpy(first.probe_labels)
    for run, label in zip(runs[1:], labels[1:], strict=True):
        x, y = to_numpy(run.probe_inputs), to_numpy(run.probe_labels)
        if x.shape != x0.shape:
            raise ValueError(
                f"runs {labels[0]!r} and {label!r} have different probes ({x0.shape[0]} vs "
                f"{x.shape[0]} samples); a sweep explorer needs runs that share one probe"
            )
        if not (np.array_equal(y, y0) and np.array_equal(x, x0)):
            raise ValueError(
                f"runs {labels[0]!r} and {label!r} have different probe samples (same count, "
                "other inputs or labels); a sweep explorer needs runs that share one probe"
            )


def default_color_by(params: Sequence[dict[str, Any]]) -> str:
    """Return the first grid parameter that varies across the runs, other than the seed."""
    names = list(params[0])
    varying = [n for n in names if len({_key(p.get(n)) for p in params}) > 1]
    for name in varying + names:
        if name != "seed":
            return name
    return names[0] if names else "seed"


def resolve_runs(
    sweep: Any, runs: Sequence[int | str], labels: list[str], max_panels: int
) -> list[int]:
    """Return the completed-run positions ``runs`` names (positions, names or labels).

    Raises
    ------
    ValueError
        Naming a run that is not among the completed ones, or too many runs.
    """
    names = [p.name for p in sweep.completed]
    out = []
    for r in runs:
        if isinstance(r, (int, np.integer)) and not isinstance(r, bool):
            if not 0 <= int(r) < len(names):
                raise ValueError(f"run position {r} is out of range ({len(names)} completed runs)")
            out.append(int(r))
        elif r in names:
            out.append(names.index(r))
        elif r in labels:
            out.append(labels.index(r))
        else:
            raise ValueError(f"no completed run {r!r}; completed: {', '.join(names) or 'none'}")
    if not out:
        raise ValueError("runs= names no run; give at least one")
    if len(out) > max_panels:
        raise ValueError(f"{len(out)} runs asked for, more than max_panels={max_panels}")
    return out


def _key(v: Any) -> str:
    """Return a hashable key of a grid value (lists and dicts included)."""
    return repr(v)


def _distinct(values: Sequence[Any]) -> list[Any]:
    """Return the distinct values in first-seen order."""
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(_key(v), v)
    return list(seen.values())


def _sorted_values(values: list[Any]) -> list[Any]:
    """Return the values sorted, or in their order when they do not sort."""
    try:
        return sorted(values)
    except TypeError:
        return values
