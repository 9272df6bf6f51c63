"""Training phenomena of ReLU networks seen through the linear lens, as metrics over a run.

Three metrics, each a number (or one number per sample) at one checkpoint and a trajectory over a
run:

``neuron_alignment(weight)``
    Early neuron alignment (small initialisation): mean squared cosine between first-layer
    neurons' input-weight directions; 1 when they all coincide up to sign, ≈ 1/d for random ones.
``local_complexity(model, x, radius=...)``
    Linear-region density near the data: per sample, the neurons whose pre-activation changes sign
    over a random cross-polytope of radius ``r`` around it (2k vertices plus the centre, batched).
``weight_variation(weights)``
    Linearity: the fraction ``E||W_eff(x) − W̄||² / E||W_eff(x)||²`` of the effective weights'
    energy that depends on the input; 0 for a linear network.

``phenomena_over_run(run)`` evaluates them at every checkpoint of a :class:`~linlens_widgets.Run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from linlens_widgets.analysis._alignment import (
    Weighting,
    effective_rank,
    first_layer_weight,
    neuron_alignment,
)
from linlens_widgets.analysis._complexity import (
    boundary_points,
    cross_polytope,
    local_complexity,
    random_directions,
)
from linlens_widgets.analysis._linearity import weight_variation
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.progress import tqdm
from linlens_widgets.runs.indexing import checkpoint_indices

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run

__all__ = [
    "ATTACHMENT",
    "PHENOMENA",
    "boundary_points",
    "cross_polytope",
    "default_radius",
    "effective_rank",
    "first_layer_weight",
    "local_complexity",
    "neuron_alignment",
    "phenomena_over_run",
    "random_directions",
    "weight_variation",
]

#: Name of the analysis-store entry that holds :func:`phenomena_over_run` results.
ATTACHMENT = "phenomena"

#: The metric names ``phenomena_over_run`` understands.
PHENOMENA: tuple[str, ...] = ("alignment", "effective_rank", "local_complexity", "weight_variation")


def default_radius(x: torch.Tensor, *, fraction: float = 0.25) -> float:
    """Pick a radius on the data's own scale: ``fraction`` × the median nearest-neighbour gap.

    Local complexity depends on the radius; measuring it in units of the typical distance between
    neighbouring samples makes runs on different data comparable and keeps neighbourhoods from
    overlapping much.

    Parameters
    ----------
    x : Tensor
        Samples ``(N, *input_shape)``, ``N >= 2``.
    fraction : float, default 0.25
        Multiple of the median distance from a sample to its nearest other sample.

    Returns
    -------
    float
        The radius (positive).

    Examples
    --------
    >>> import torch
    >>> default_radius(torch.tensor([[0.0], [1.0], [3.0]]))
    0.25
    """
    if x.shape[0] < 2:
        raise ValueError(f"need at least two samples to set a radius, got {tuple(x.shape)}")
    flat = x.detach().to("cpu", torch.float64).reshape(x.shape[0], -1)
    distances = torch.cdist(flat, flat)
    distances.fill_diagonal_(float("inf"))
    gap = float(torch.quantile(distances.min(1).values, 0.5))
    if gap <= 0:
        raise ValueError("samples coincide (median nearest-neighbour distance 0); pass a radius")
    return fraction * gap


def phenomena_over_run(
    run: Run,
    which: Sequence[str] = ("alignment", "local_complexity", "weight_variation"),
    *,
    radius: float | None = None,
    n_directions: int = 8,
    seed: int = 0,
    weighting: Weighting = "uniform",
    checkpoints: Sequence[int] | None = None,
    progress: bool = True,
    recompute: bool = False,
) -> dict[str, np.ndarray]:
    """Evaluate the phenomena metrics at every checkpoint of a run.

    Results over all checkpoints are kept in the run's analysis store (entry ``"phenomena"``, see
    :class:`~linlens_widgets.analysis.store.AnalysisStore`) and reused by later calls with the
    same settings.

    Parameters
    ----------
    run : Run
        A recorded run; its probe inputs are the samples for local complexity and weight variation.
    which : sequence of str, default ("alignment", "local_complexity", "weight_variation")
        Any of :data:`PHENOMENA`.
    radius : float, optional
        Local-complexity radius; default :func:`default_radius` of the probe inputs.
    n_directions : int, default 8
        Local-complexity cross-polytope dimension.
    seed : int, default 0
        Seed of the local-complexity directions; the same neighbourhoods are used at every
        checkpoint, so changes over training are not sampling noise.
    weighting : {"uniform", "norm"}, default "uniform"
        Passed to :func:`neuron_alignment`.
    checkpoints : sequence of int, optional
        Checkpoint positions to evaluate; default all.
    progress : bool, default True
        Show a progress bar.
    recompute : bool, default False
        Ignore a stored result and compute again.

    Returns
    -------
    dict of str to ndarray
        ``"checkpoint"`` (E,) positions, ``"epoch"`` (E,), ``"step"`` (E,) and, per requested
        metric: ``"alignment"`` (E,), ``"effective_rank"`` (E,), ``"weight_variation"`` (E,),
        ``"local_complexity"`` (E,) mean over probe samples, ``"local_complexity_per_sample"``
        (E, N), ``"local_complexity_by_layer"`` (E, L) mean per non-linear layer, and
        ``"radius"`` (a 0-d array) — ready for :meth:`AnalysisStore.put`.

    Examples
    --------
    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> run = ll.train(ll.models.mlp(64, [32], 10), data, epochs=2)  # doctest: +SKIP
    >>> phenomena_over_run(run)["alignment"]                         # doctest: +SKIP
    """
    unknown = sorted(set(which) - set(PHENOMENA))
    if unknown:
        raise ValueError(f"unknown phenomena {unknown}; choose from {list(PHENOMENA)}")
    positions = checkpoint_indices(checkpoints, len(run.checkpoints))
    probe = run.probe_inputs
    if "local_complexity" in which and radius is None:
        radius = default_radius(probe)
    settings = {
        "radius": radius,
        "n_directions": n_directions,
        "seed": seed,
        "weighting": weighting,
        "n_checkpoints": len(run.checkpoints),
    }
    cacheable = checkpoints is None and hasattr(run, "analysis_entries")
    if cacheable and not recompute:
        stored = _stored(run, which, settings)
        if stored is not None:
            return stored
    directions = None
    if "local_complexity" in which:  # one draw of the neighbourhoods, shared by all checkpoints
        directions = random_directions(len(probe), probe[0].numel(), n_directions, seed=seed)
    values: dict[str, list[object]] = {name: [] for name in which}
    for i in tqdm(positions, desc="phenomena", leave=False, disable=not progress):
        model = run.model_at(i)
        for name in which:
            if name == "alignment":
                values[name].append(neuron_alignment(model, weighting=weighting))
            elif name == "effective_rank":
                values[name].append(effective_rank(model))
            elif name == "weight_variation":
                values[name].append(weight_variation(run_weights(run).effective_weights(i)))
            else:
                values[name].append(
                    local_complexity(
                        model,
                        probe,
                        radius=radius,  # type: ignore[arg-type]
                        by_layer=True,
                        directions=directions,
                    )
                )
    out = _checkpoint_axes(run, positions)
    for name in which:
        if name == "local_complexity":
            out.update(_local_complexity_arrays(values[name], radius))  # type: ignore[arg-type]
        else:
            out[name] = np.asarray(values[name], dtype=np.float64)
    if cacheable:
        AnalysisStore(run).put(ATTACHMENT, out, {**settings, "which": sorted(which)})
    return out


def _stored(run: Run, which: Sequence[str], settings: dict) -> dict[str, np.ndarray] | None:
    """Return the stored phenomena if they cover ``which`` with the same ``settings``."""
    item = AnalysisStore(run).get(ATTACHMENT)
    if item is None:
        return None
    arrays, meta = item
    if not set(which) <= set(meta.get("which", ())):
        return None
    relevant = [k for k in settings if k != "radius" or "local_complexity" in which]
    if any(meta.get(k) != settings[k] for k in relevant):
        return None
    keys = {"checkpoint", "epoch", "step", *which}
    if "local_complexity" in which:
        keys |= {"local_complexity_per_sample", "local_complexity_by_layer", "radius"}
    return {k: v for k, v in arrays.items() if k in keys}


def _checkpoint_axes(run: Run, positions: list[int]) -> dict[str, np.ndarray]:
    """Checkpoint positions, epochs and steps of the evaluated checkpoints."""
    chosen = [run.checkpoints[i] for i in positions]
    return {
        "checkpoint": np.asarray(positions, dtype=np.int64),
        "epoch": np.asarray([c.epoch for c in chosen], dtype=np.float64),
        "step": np.asarray([c.step for c in chosen], dtype=np.int64),
    }


def _local_complexity_arrays(
    counts: list[torch.Tensor], radius: float | None
) -> dict[str, np.ndarray]:
    """Stack per-checkpoint ``(N, L)`` counts into the run-level arrays."""
    stacked = torch.stack(counts).numpy()  # (E, N, L)
    return {
        "local_complexity": stacked.sum(2).mean(1).astype(np.float64),
        "local_complexity_per_sample": stacked.sum(2).astype(np.float32),
        "local_complexity_by_layer": stacked.mean(1).astype(np.float64),
        "radius": np.asarray(radius, dtype=np.float64),
    }
