"""Checkpoint schedules: which optimizer steps of a training run get recorded.

Early training is where effective weights move fastest, so the default schedule is log-spaced
over steps: dense at the start, sparse at the end, always containing initialisation (step 0) and
the final step. A schedule is resolved once, before training, into a sorted list of distinct step
indices in ``[0, total_steps]`` (step ``s`` means "after ``s`` optimizer updates").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import numpy as np

#: What ``train(checkpoints=...)`` accepts: ``"log"``, ``"epoch"``, a count, a list of (fractional)
#: epochs, or a mapping ``{"steps": [...]}`` / ``{"epochs": [...]}``.
ScheduleSpec: TypeAlias = str | int | Sequence[float] | Mapping[str, Sequence[float]]

#: Number of checkpoints of the ``"log"`` schedule (including step 0 and the last step).
DEFAULT_LOG_CHECKPOINTS = 20


def log_steps(total_steps: int, count: int = DEFAULT_LOG_CHECKPOINTS) -> list[int]:
    """Return ``count`` distinct, log-spaced step indices from 0 to ``total_steps`` inclusive.

    Geometric spacing collides at small steps once rounded to integers (1, 1, 2, 2, ...); the
    number of generated points grows until ``count`` distinct steps exist, so the early part of
    training ends up sampled at every step and the later part geometrically.

    Parameters
    ----------
    total_steps : int
        Number of optimizer steps of the whole run.
    count : int, default 20
        Number of checkpoints wanted, step 0 and ``total_steps`` included. Capped at
        ``total_steps + 1``.

    Returns
    -------
    list[int]
        Sorted distinct steps, starting at 0 and ending at ``total_steps``.

    >>> log_steps(100, 8)
    [0, 1, 2, 5, 10, 22, 46, 100]
    """
    _check_total(total_steps)
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ValueError(f"a log schedule needs at least 2 checkpoints, got {count!r}")
    count = min(count, total_steps + 1)
    if count == total_steps + 1:
        return list(range(total_steps + 1))
    # the fewest generated points that give `count` distinct steps: doubling, then bisection,
    # each try one vectorised pass (growing the set one point at a time was quadratic)
    low, high = count - 2, count - 1
    while len(_geometric(total_steps, high)) < count:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if len(_geometric(total_steps, middle)) >= count:
            high = middle
        else:
            low = middle
    return _thin(_geometric(total_steps, high).tolist(), count)


def _geometric(total_steps: int, generated: int) -> np.ndarray:
    """Sorted distinct steps: 0, ``total_steps`` and ``generated`` rounded geometric points."""
    ratio = math.log(total_steps) / max(generated - 1, 1)
    points = np.rint(np.exp(np.arange(generated) * ratio))  # rint: round half to even, as round
    points = np.concatenate([[0.0], np.minimum(points, total_steps), [total_steps]])
    keep = np.empty(len(points), dtype=bool)  # the points ascend: distinct = differs from previous
    keep[0] = True
    np.not_equal(points[1:], points[:-1], out=keep[1:])
    return points[keep].astype(np.int64)


def _thin(steps: list[int], count: int) -> list[int]:
    """Drop surplus steps from the dense early end so exactly ``count`` remain (ends kept)."""
    surplus = len(steps) - count
    if surplus <= 0:
        return steps
    # the overshoot is at most a step or two: remove the step with the smallest log-gap each time
    kept = list(steps)
    for _ in range(surplus):
        gaps = [
            math.log(kept[i + 1] + 1) - math.log(kept[i - 1] + 1) for i in range(1, len(kept) - 1)
        ]
        kept.pop(1 + gaps.index(min(gaps)))
    return kept


def resolve_schedule(spec: ScheduleSpec, *, epochs: int, steps_per_epoch: int) -> list[int]:
    """Turn a ``checkpoints=`` argument into sorted distinct step indices.

    Parameters
    ----------
    spec : str, int, sequence of float, or mapping
        ``"log"`` (default of :func:`train`): 20 log-spaced steps; ``"epoch"``: initialisation and
        the end of every epoch; an ``int`` n: n log-spaced steps; a sequence of epochs, fractional
        allowed (``0`` is initialisation, ``0.5`` half-way through the first epoch); a mapping
        ``{"steps": [...]}`` of optimizer-step indices or ``{"epochs": [...]}``.
    epochs : int
        Number of training epochs.
    steps_per_epoch : int
        Optimizer steps per epoch (batches per epoch).

    Returns
    -------
    list[int]
        Sorted distinct step indices in ``[0, epochs * steps_per_epoch]``. Epochs that round to the
        same step collapse into one checkpoint.

    Raises
    ------
    ValueError
        For an unknown string, an empty list, or a step/epoch outside the run, naming the value.

    >>> resolve_schedule("epoch", epochs=3, steps_per_epoch=10)
    [0, 10, 20, 30]
    >>> resolve_schedule([0, 0.5, 2], epochs=3, steps_per_epoch=10)
    [0, 5, 20]
    >>> resolve_schedule({"steps": [0, 1, 2, 3]}, epochs=3, steps_per_epoch=10)
    [0, 1, 2, 3]
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int):
        raise ValueError(f"steps_per_epoch must be an integer, got {steps_per_epoch!r}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
    total = epochs * steps_per_epoch
    if isinstance(spec, str):
        return _named_schedule(spec, total, steps_per_epoch, epochs)
    if isinstance(spec, bool):
        raise ValueError(f"checkpoints must be 'log', 'epoch', an int, or a list, got {spec!r}")
    if isinstance(spec, int):
        return [0] if total == 0 else log_steps(total, spec)
    if isinstance(spec, Mapping):
        return _mapping_schedule(spec, total, steps_per_epoch)
    if isinstance(spec, Sequence):
        return _epochs_to_steps(spec, total, steps_per_epoch)
    raise ValueError(
        "checkpoints must be 'log', 'epoch', an int, a list of epochs, or "
        f"{{'steps': [...]}}, got {type(spec).__name__}"
    )


def _named_schedule(spec: str, total: int, steps_per_epoch: int, epochs: int) -> list[int]:
    if spec == "log":
        return [0] if total == 0 else log_steps(total, DEFAULT_LOG_CHECKPOINTS)
    if spec == "epoch":
        return [e * steps_per_epoch for e in range(epochs + 1)]
    raise ValueError(f"unknown checkpoint schedule {spec!r}; use 'log', 'epoch', an int or a list")


def _mapping_schedule(
    spec: Mapping[str, Sequence[float]], total: int, steps_per_epoch: int
) -> list[int]:
    keys = set(spec)
    if keys == {"steps"}:
        return _validated_steps(spec["steps"], total, unit="step")
    if keys == {"epochs"}:
        return _epochs_to_steps(spec["epochs"], total, steps_per_epoch)
    raise ValueError(
        f"a checkpoint mapping needs exactly one key, 'steps' or 'epochs'; got {sorted(keys)}"
    )


def _epochs_to_steps(values: Sequence[float], total: int, steps_per_epoch: int) -> list[int]:
    numbers = _numbers(values, unit="epoch")
    return _validated_steps([round(v * steps_per_epoch) for v in numbers], total, unit="step")


def _validated_steps(values: Sequence[float], total: int, *, unit: str) -> list[int]:
    numbers = _numbers(values, unit=unit)
    steps = set()
    for value in numbers:
        if value != int(value):
            raise ValueError(f"{unit} indices must be whole numbers, got {value!r}")
        if not 0 <= value <= total:
            raise ValueError(f"checkpoint {unit} {value!r} is outside the run (0..{total} steps)")
        steps.add(int(value))
    return sorted(steps)


def _numbers(values: Sequence[float], *, unit: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"expected a list of {unit}s, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"the list of checkpoint {unit}s is empty")
    out = []
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ValueError(f"checkpoint {unit}s must be finite numbers, got {value!r}")
        if value < 0:
            raise ValueError(f"checkpoint {unit} {value!r} is negative")
        out.append(value)
    return out


def _check_total(total_steps: int) -> None:
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
