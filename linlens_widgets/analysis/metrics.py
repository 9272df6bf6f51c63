"""Lens metrics: class similarity of effective weights, sub-clusters within a class, class means.

The paper's findings are statements about these numbers: during training the effective weights
of same-class samples converge (intra-class cosine similarity rises) and those of different
classes diverge (inter-class similarity falls), while a stylistically varied class such as "1"
keeps persistent sub-clusters. How far apart the classes are, in W_eff space or in the inputs, is
:func:`knn_agreement` (:mod:`linlens_widgets.analysis.agreement`): the share of a sample's nearest
neighbours that carry its label; :func:`story` (:mod:`linlens_widgets.analysis.story`) turns these
numbers at initialisation and after training into the facts and sentences a lecture prints.

The related training phenomena live in :mod:`linlens_widgets.analysis.phenomena` and are
re-exported here, so that ``ll.metrics`` is the one place to look: :func:`neuron_alignment` (early
alignment under small initialisation), :func:`local_complexity` (linear-region density near the
data), :func:`weight_variation` (how far a net is from one linear map), each over a run with
:func:`phenomena_over_run`. The sub-clusters of one class at one checkpoint (:func:`subclusters`)
come from :mod:`linlens_widgets.analysis.clustering`; the sub-clusters of a class followed through
training (the same samples at every checkpoint) live in
:mod:`linlens_widgets.analysis.subcluster_tracking`: :func:`track_subclusters`,
:func:`track_all_subclusters`.

Every function takes ``weights`` as an ``EffectiveWeights`` (its ``.weight`` is used), a
``torch.Tensor`` or a NumPy array of shape ``(N, ...)``, flattened per sample. Class similarity
also works on the engine's isometric features (``run_weights(run).weight_features(i)``): they
keep inner products, so centring and cosines computed on them equal those of the flattened W_eff.

>>> import linlens_widgets as ll
>>> from linlens_widgets.analysis.weights import run_weights
>>> features = run_weights(run).weight_features(-1)                             # doctest: +SKIP
>>> sim = ll.metrics.class_similarity(features, run.probe_labels)                # doctest: +SKIP
>>> sim.intra, sim.inter                                                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from linlens_widgets.analysis.agreement import KnnAgreement, knn_agreement
from linlens_widgets.analysis.clustering import (
    Subcluster,
    Weights,
    flat_rows,
    label_array,
    subclusters,
    weight_tensor,
)
from linlens_widgets.analysis.neighbors import (
    Neighbors,
    centred_cosine,
    neighbor_table,
    neighbors,
    probe_mean,
)
from linlens_widgets.analysis.phenomena import (
    boundary_points,
    default_radius,
    effective_rank,
    local_complexity,
    neuron_alignment,
    phenomena_over_run,
    weight_variation,
)
from linlens_widgets.analysis.story import Story, story
from linlens_widgets.analysis.subcluster_tracking import (
    SubclusterTrack,
    track_all_subclusters,
    track_subclusters,
    track_subclusters_in,
)
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.progress import tqdm
from linlens_widgets.runs.indexing import checkpoint_indices

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = [
    "ClassSimilarity",
    "KnnAgreement",
    "Neighbors",
    "RunSeries",
    "Story",
    "Subcluster",
    "SubclusterTrack",
    "boundary_points",
    "centred_cosine",
    "class_mean_weights",
    "class_similarity",
    "default_radius",
    "effective_rank",
    "knn_agreement",
    "local_complexity",
    "neighbor_table",
    "neighbors",
    "neuron_alignment",
    "over_run",
    "phenomena_over_run",
    "probe_mean",
    "story",
    "subclusters",
    "track_all_subclusters",
    "track_subclusters",
    "track_subclusters_in",
    "weight_variation",
]

_CHUNK = 8192


# ----------------------------------------------------------------------------- similarity


@dataclass(frozen=True)
class ClassSimilarity:
    """Mean cosine similarity of flattened effective weights within and between classes.

    Attributes
    ----------
    intra : float
        Mean over classes of the mean cosine between two different samples of the class.
    inter : float
        Mean over ordered pairs of different classes of their mean cross-class cosine.
    matrix : np.ndarray
        ``(C, C)``: entry ``(a, b)`` is the mean cosine between samples of classes ``a`` and
        ``b`` (self-pairs excluded on the diagonal; NaN for a class with one sample).
    classes : np.ndarray
        ``(C,)`` the class labels the rows/columns refer to.
    centered : bool
        Whether the probe set's mean W_eff was subtracted first.
    """

    intra: float
    inter: float
    matrix: np.ndarray
    classes: np.ndarray
    centered: bool


def class_similarity(weights: Weights, labels: Any, *, centered: bool = True) -> ClassSimilarity:
    """Intra- and inter-class mean cosine similarity of flattened effective weights.

    Raw cosines are dominated by the component every sample shares (on a trained digits MLP,
    raw intra and inter both sit near 0.9), which hides convergence and divergence; by default
    the probe set's mean W_eff is subtracted first. Cost is ``O(N k)``: per-class sums of unit
    vectors give all pair sums at once, streamed over row chunks.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, ...)`` effective weights, or the engine's isometric features ``(N, k)``.
    labels : torch.Tensor or array
        ``(N,)`` class labels.
    centered : bool, default True
        Subtract the mean over all N samples before taking cosines.

    Returns
    -------
    ClassSimilarity
        ``.intra``, ``.inter``, ``.matrix`` (C x C).

    Examples
    --------
    >>> w = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> s = class_similarity(w, torch.tensor([0, 0, 1, 1]))
    >>> s.intra > 0.9 > 0 > s.inter
    True
    """
    w = weight_tensor(weights)
    n = w.shape[0]
    y = label_array(labels, n)
    classes, index = np.unique(y, return_inverse=True)
    mean = _column_mean(w) if centered else None
    sums = torch.zeros(len(classes), int(np.prod(w.shape[1:])), dtype=torch.float64)
    counts = torch.zeros(len(classes), dtype=torch.float64)
    nonzero = torch.zeros(len(classes), dtype=torch.float64)
    index_all = torch.from_numpy(index)
    for s in range(0, n, _CHUNK):
        rows = flat_rows(w, slice(s, s + _CHUNK))
        if mean is not None:
            rows = rows - mean
        norms = rows.norm(dim=1, keepdim=True)
        unit = torch.where(norms > 0, rows / norms.clamp_min(1e-300), torch.zeros_like(rows))
        idx = index_all[s : s + _CHUNK]
        sums.index_add_(0, idx, unit)
        counts.index_add_(0, idx, torch.ones(len(idx), dtype=torch.float64))
        nonzero.index_add_(0, idx, (norms[:, 0] > 0).to(torch.float64))
    dots = (sums @ sums.T).numpy()
    cnt = counts.numpy()
    pairs = np.outer(cnt, cnt)
    np.fill_diagonal(pairs, cnt * (cnt - 1))
    np.fill_diagonal(dots, np.diag(dots) - nonzero.numpy())  # drop self-pairs (cosine 1 each)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(pairs > 0, dots / np.maximum(pairs, 1), np.nan)
    off = ~np.eye(len(classes), dtype=bool)
    intra = float(np.nanmean(np.diag(matrix))) if np.isfinite(np.diag(matrix)).any() else np.nan
    inter = float(np.nanmean(matrix[off])) if off.any() else np.nan
    return ClassSimilarity(intra, inter, matrix, classes, centered)


def _column_mean(w: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(int(np.prod(w.shape[1:])), dtype=torch.float64)
    for s in range(0, w.shape[0], _CHUNK):
        total += flat_rows(w, slice(s, s + _CHUNK)).sum(dim=0)
    return total / w.shape[0]


class_similarity.accepts_features = True  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- class means


def class_mean_weights(weights: Weights, labels: Any, n_classes: int | None = None) -> torch.Tensor:
    """Compute the mean effective weight per class, in the weights' own shape.

    Row ``k`` is always class ``k``: a class without samples gets a row of NaN, so a missing
    class never shifts the later ones.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, C_out, *input_shape)`` effective weights (any ``(N, ...)`` works).
    labels : torch.Tensor or array
        ``(N,)`` class labels ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of classes (e.g. ``run.n_classes``); default the largest label + 1.

    Returns
    -------
    torch.Tensor
        ``(n_classes, *weights.shape[1:])`` float32, row ``k`` the mean over samples of class
        ``k`` (NaN where class ``k`` has none).

    Raises
    ------
    ValueError
        A label is negative or not below ``n_classes``.

    Examples
    --------
    >>> w = torch.arange(8.0).reshape(4, 1, 2)
    >>> class_mean_weights(w, [0, 0, 1, 1])[:, 0]
    tensor([[1., 2.],
            [5., 6.]])
    >>> class_mean_weights(w, [0, 0, 2, 2])[1, 0]
    tensor([nan, nan])
    """
    w = weight_tensor(weights)
    y = label_array(labels, w.shape[0])
    k = _class_count(y, n_classes)
    sums = torch.zeros(k, int(np.prod(w.shape[1:])), dtype=torch.float64)
    idx_all = torch.from_numpy(y)
    for s in range(0, w.shape[0], _CHUNK):
        sums.index_add_(0, idx_all[s : s + _CHUNK], flat_rows(w, slice(s, s + _CHUNK)))
    counts = torch.from_numpy(np.bincount(y, minlength=k)).to(torch.float64)
    means = sums / counts[:, None]  # 0/0: NaN for an absent class
    means[counts == 0] = math.nan
    return means.to(torch.float32).reshape(k, *w.shape[1:])


def _class_count(y: np.ndarray, n_classes: int | None) -> int:
    """``n_classes`` after checking every label lies below it (default: largest label + 1)."""
    if len(y) and int(y.min()) < 0:
        position = int(np.argmin(y))
        raise ValueError(f"label {int(y[position])} at position {position} is negative")
    if n_classes is None:
        return int(y.max()) + 1 if len(y) else 0
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if len(y) and int(y.max()) >= n_classes:
        position = int(np.argmax(y))
        raise ValueError(
            f"label {int(y[position])} at position {position} is not below n_classes={n_classes}"
        )
    return int(n_classes)


# ----------------------------------------------------------------------------- over a run


class RunSeries(list):
    """Per-checkpoint results of :func:`over_run`: a list, plus the checkpoints it refers to.

    Attributes
    ----------
    checkpoint_ids : np.ndarray
        ``(E,)`` checkpoint index of each entry.
    epochs : np.ndarray
        ``(E,)`` epoch of each entry.
    """

    checkpoint_ids: np.ndarray
    epochs: np.ndarray

    def stack(self, attribute: str | None = None) -> np.ndarray:
        """Stack the entries (or one attribute of each, e.g. ``"intra"``) into ``(E, ...)``.

        >>> series.stack("intra")   # doctest: +SKIP
        array([0.05, 0.21, 0.48])
        """
        items = self if attribute is None else [getattr(v, attribute) for v in self]
        return np.asarray([np.asarray(v, dtype=np.float64) for v in items])


Source = Literal["auto", "weights", "features"]


def over_run(
    run: Run,
    fn: Callable[..., Any],
    *,
    source: Source = "auto",
    checkpoints: Sequence[int] | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> RunSeries:
    """Evaluate ``fn(weights, labels, **kwargs)`` at every checkpoint of a run.

    Parameters
    ----------
    run : Run
        A recorded run; its probe samples and labels are used.
    fn : callable
        E.g. :func:`class_similarity`, :func:`class_mean_weights`, or
        ``functools.partial(subclusters, cls=1)``; any function of ``(weights, labels)``.
    source : {"auto", "weights", "features"}, default "auto"
        ``"weights"``: ``run_weights(run).effective_weights(i)`` (full W_eff images).
        ``"features"``: ``run_weights(run).weight_features(i)`` (isometric, much smaller for
        MNIST-sized runs; fine for anything that only needs inner products). ``"auto"``:
        features for :func:`class_similarity`, weights otherwise.
    checkpoints : sequence of int, optional
        Checkpoint indices (default all).
    progress : bool, default True
        Show a progress bar over checkpoints.
    **kwargs
        Passed on to ``fn``.

    Returns
    -------
    RunSeries
        A list with one result per checkpoint, plus ``.checkpoint_ids``, ``.epochs`` and
        ``.stack(attribute)`` for plotting.

    Examples
    --------
    >>> sims = over_run(run, class_similarity)          # doctest: +SKIP
    >>> sims.epochs, sims.stack("intra")                # doctest: +SKIP
    """
    ids = checkpoint_indices(checkpoints, len(run.checkpoints))
    if source not in ("auto", "weights", "features"):
        raise ValueError(f"source must be 'auto', 'weights' or 'features', got {source!r}")
    use_features = source == "features" or (
        source == "auto" and getattr(fn, "accepts_features", False)
    )
    labels = run.probe_labels
    name = getattr(fn, "__name__", "metric")
    results = RunSeries()
    engine = run_weights(run)
    for i in tqdm(ids, desc=name, unit="ckpt", leave=False, disable=not progress):
        weights = engine.weight_features(i) if use_features else engine.effective_weights(i)
        results.append(fn(weights, labels, **kwargs))
    results.checkpoint_ids = np.asarray(ids, dtype=np.int64)
    results.epochs = np.array([run.checkpoints[i].epoch for i in ids], dtype=np.float64)
    return results
