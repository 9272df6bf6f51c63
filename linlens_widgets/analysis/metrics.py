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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from linlens_widgets.analysis.agreement import KnnAgreement, knn_agreement
from linlens_widgets.analysis.clustering import Subcluster, subclusters
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
from linlens_widgets.analysis.similarity import (
    ClassSimilarity,
    class_mean_weights,
    class_similarity,
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
