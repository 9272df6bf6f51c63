"""Tracked sub-clusters: one class's reference groups followed through every checkpoint.

:func:`~linlens_widgets.analysis.clustering.subclusters` clusters a class at one checkpoint; doing
it independently at every checkpoint gives partitions (and counts) that jump from one checkpoint to
the next, which hides whether the *same* samples stay grouped. Here the groups are found once, at a
reference checkpoint (by default the trained network), with the same method (PCA, Ward, gain over a
Gaussian null), and the same samples are then followed through training:

- *persistence*: the adjusted Rand index (ARI) between the reference groups and the best partition
  of the class (Ward, same number of groups) found at each checkpoint. 1 means the checkpoint
  splits the class exactly as the reference does; about 0 means no more agreement than chance.
- *separation*: the mean silhouette of the fixed reference groups at each checkpoint minus that
  of the same clustering of Gaussian data with the class's principal variances, the gain scale of
  ``subclusters`` (at the reference checkpoint it is the gain of the chosen split).
- *mean weights*: each group's mean W_eff at each checkpoint, e.g. the templates of the styles
  of '1' at initialisation and after training.

A class without structure at the reference is one group: there is no split to follow, and its
persistence and separation are reported as 0 (no sub-clusters, the value of a chance partition)
at every checkpoint, so that it reads as "none" next to a class whose groups persist.

>>> import linlens_widgets as ll
>>> track = ll.metrics.track_subclusters(run, 1)          # doctest: +SKIP
>>> track.k, track.persistence[[0, -1]]                   # doctest: +SKIP
(3, array([0.71, 1.  ]))
>>> tracks = ll.metrics.track_all_subclusters(run)        # doctest: +SKIP
>>> tracks[1].group_ids        # (N,), -1 outside class 1 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from linlens_widgets.analysis import clustering
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.progress import tqdm
from linlens_widgets.runs.indexing import checkpoint_index, checkpoint_indices

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = [
    "ATTACHMENT",
    "SubclusterTrack",
    "track_all_subclusters",
    "track_subclusters",
    "track_subclusters_in",
]

ATTACHMENT = "subcluster_tracks"
"""Name under which :func:`track_all_subclusters` stores its result with the run."""

Weights = Any  # EffectiveWeights | torch.Tensor | np.ndarray, (N, ...)
# the features of one checkpoint (what the clustering sees)
Loader = Callable[[int], Weights]
# (checkpoint, (N,) group ids with -1 for none, number of groups) -> (k, C, *input) mean W_eff;
# for a run streamed over row chunks, so a whole checkpoint's W_eff is never held
MeansOf = Callable[[int, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class SubclusterTrack:
    """The reference sub-clusters of one class, followed through a run's checkpoints.

    Attributes
    ----------
    cls : int
        The class label.
    reference : int
        Checkpoint position (non-negative) where the groups were found.
    group_ids : np.ndarray
        ``(N,)`` int64: the reference group of every probe sample (``0 … k-1``, largest group
        first), ``-1`` for samples of other classes. This is what a view colours samples by.
    persistence : np.ndarray
        ``(E,)`` ARI between the reference groups and the best ``k``-group partition of the class
        at each checkpoint (0 for a one-group class).
    separation : np.ndarray
        ``(E,)`` silhouette gain of the fixed reference groups over the Gaussian null at each
        checkpoint (0 for a one-group class).
    mean_weights : np.ndarray
        ``(E, k, C, *input)`` float32: each group's mean effective weight at each checkpoint.
    checkpoint_ids : np.ndarray
        ``(E,)`` the checkpoint positions of the entries.
    epochs : np.ndarray
        ``(E,)`` their epochs.
    """

    cls: int
    reference: int
    group_ids: np.ndarray
    persistence: np.ndarray
    separation: np.ndarray
    mean_weights: np.ndarray
    checkpoint_ids: np.ndarray
    epochs: np.ndarray

    @property
    def k(self) -> int:
        """Number of reference groups (1 when the class has no sub-clusters)."""
        return int(self.group_ids.max()) + 1

    @property
    def members(self) -> tuple[np.ndarray, ...]:
        """The reference partition: sample indices of each group, ascending, largest group first."""
        return tuple(np.flatnonzero(self.group_ids == g) for g in range(self.k))

    @property
    def sizes(self) -> np.ndarray:
        """``(k,)`` number of samples in each group."""
        return np.bincount(self.group_ids[self.group_ids >= 0], minlength=self.k)


# ----------------------------------------------------------------------------- core


@dataclass(frozen=True)
class _Params:
    max_k: int = 6
    min_size: int = 5
    min_gain: float = 0.05
    pca_dims: int = 20
    seed: int = 0


def _reference_groups(features: Weights, labels: np.ndarray, cls: int, p: _Params) -> np.ndarray:
    """Group id ``(N,)`` of every sample at the reference (``-1`` outside ``cls``)."""
    found = clustering.subclusters(
        features,
        labels,
        cls,
        max_k=p.max_k,
        min_size=p.min_size,
        min_gain=p.min_gain,
        pca_dims=p.pca_dims,
        seed=p.seed,
    )
    ids = np.full(len(labels), -1, dtype=np.int64)
    for g, cluster in enumerate(found):  # largest first
        ids[cluster.members] = g
    return ids


def _follow(
    features: np.ndarray, means: np.ndarray, group_ids: np.ndarray, p: _Params
) -> tuple[float, float, np.ndarray]:
    """Return persistence, separation and the ``(k, C, *input)`` group means at one checkpoint.

    ``features`` is ``(N, f)`` float64 (what the clustering sees), ``means`` the groups' mean
    W_eff ``(k, C, *input)`` at that checkpoint.
    """
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    members = np.flatnonzero(group_ids >= 0)
    assign = group_ids[members]
    k = int(assign.max()) + 1
    means = np.asarray(means, dtype=np.float32)
    if k == 1:
        return 0.0, 0.0, means
    x = clustering.pca_scores(features[members], p.pca_dims, p.seed)
    persistence = adjusted_rand_score(assign, clustering.ward(x, k))
    null = clustering.null_draws(x, p.seed)
    separation = silhouette_score(x, assign) - clustering.null_silhouette(null, k)
    return float(persistence), float(separation), means


def _as_features(features: Weights) -> np.ndarray:
    """Flattened float64 features ``(N, f)`` as a NumPy array (once per checkpoint)."""
    f = clustering.weight_tensor(features)
    return f.reshape(f.shape[0], -1).to("cpu", torch.float64).numpy()


def _held_means(weights: Weights, groups: np.ndarray, k: int) -> np.ndarray:
    """Group means ``(k, C, *input)`` float64 of weights held in memory (``-1``: no group)."""
    w = clustering.weight_tensor(weights).to("cpu").numpy()
    return np.stack([w[groups == g].astype(np.float64).mean(axis=0) for g in range(k)])


def _combined_groups(
    groups: dict[int, np.ndarray], classes: Sequence[int]
) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """Give every class's groups numbers in one ``(N,)`` array (classes are disjoint sample sets).

    Returns the array (``-1`` for samples in no group) and each class's ``(first, stop)`` range.
    """
    combined = np.full(len(next(iter(groups.values()))), -1, dtype=np.int64)
    spans: dict[int, tuple[int, int]] = {}
    first = 0
    for c in classes:
        ids = groups[c]
        k = int(ids.max()) + 1
        combined[ids >= 0] = ids[ids >= 0] + first
        spans[c] = (first, first + k)
        first += k
    return combined, spans


def _track(
    load: Loader,
    means_of: MeansOf,
    labels: np.ndarray,
    classes: Sequence[int],
    ids: list[int],
    reference: int,
    epochs: np.ndarray,
    p: _Params,
    progress: bool,
) -> dict[int, SubclusterTrack]:
    """Find every class's groups at ``reference``, then follow them through ``ids``."""
    # Each class is a small matrix: multi-threaded BLAS only adds hand-offs there.
    with threadpool_limits(1, user_api="blas"):
        ref_features = load(reference)
        groups = {c: _reference_groups(ref_features, labels, c, p) for c in classes}
        combined, spans = _combined_groups(groups, classes)
        total = max(stop for _, stop in spans.values())
        rows: dict[int, list[tuple[float, float, np.ndarray]]] = {c: [] for c in classes}
        desc = "sub-clusters (group means of W_eff, streamed)"
        for i in tqdm(ids, desc=desc, unit="ckpt", disable=not progress, leave=False):
            features = _as_features(load(i))
            means = means_of(i, combined, total)
            for c in classes:
                first, stop = spans[c]
                rows[c].append(_follow(features, means[first:stop], groups[c], p))
    return {
        c: SubclusterTrack(
            cls=int(c),
            reference=reference,
            group_ids=groups[c],
            persistence=np.array([r[0] for r in rows[c]]),
            separation=np.array([r[1] for r in rows[c]]),
            mean_weights=np.stack([r[2] for r in rows[c]]),
            checkpoint_ids=np.asarray(ids, dtype=np.int64),
            epochs=np.asarray(epochs, dtype=np.float64),
        )
        for c in classes
    }


def _params(**kwargs: Any) -> _Params:
    p = _Params(**kwargs)
    if p.max_k < 1 or p.min_size < 1 or p.pca_dims < 1:
        raise ValueError(
            f"max_k, min_size and pca_dims must be at least 1, got {p.max_k}, {p.min_size}, "
            f"{p.pca_dims}"
        )
    return p


def _check_class(cls: Any, labels: np.ndarray) -> int:
    if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)):
        raise TypeError(f"cls must be an integer class label, got {cls!r}")
    if not np.any(labels == cls):
        raise ValueError(f"no sample has label {cls}; labels present: {np.unique(labels).tolist()}")
    return int(cls)


# ----------------------------------------------------------------------------- public


def track_subclusters_in(
    weights: Sequence[Weights],
    labels: Any,
    cls: int,
    *,
    reference: int = -1,
    epochs: Sequence[float] | None = None,
    max_k: int = 6,
    min_size: int = 5,
    min_gain: float = 0.05,
    pca_dims: int = 20,
    seed: int = 0,
) -> SubclusterTrack:
    """Track one class's sub-clusters through a sequence of per-checkpoint effective weights.

    The same as :func:`track_subclusters` for weights you hold yourself (one ``(N, ...)`` array
    or tensor per checkpoint, the same N samples in the same order at each).

    Parameters
    ----------
    weights : sequence of EffectiveWeights, torch.Tensor or np.ndarray
        ``E`` arrays ``(N, C, *input)``; clustering uses their flattened rows.
    labels : torch.Tensor or array
        ``(N,)`` class labels.
    cls : int
        The class to follow.
    reference : int, default -1
        Position in ``weights`` where the groups are found (negative counts back).
    epochs : sequence of float, optional
        Epoch of each entry (default ``0 … E-1``).
    max_k, min_size, min_gain, pca_dims, seed
        As in :func:`~linlens_widgets.analysis.clustering.subclusters`.

    Returns
    -------
    SubclusterTrack

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = np.concatenate([rng.normal(0, 1, (20, 4)), rng.normal(6, 1, (20, 4))])
    >>> steps = [base + rng.normal(0, 0.1, base.shape) for _ in range(3)]
    >>> track_subclusters_in(steps, np.zeros(40, int), 0).persistence
    array([1., 1., 1.])
    """
    items = list(weights)
    if not items:
        raise ValueError("weights is empty: give one (N, ...) array per checkpoint")
    n = len(items)
    ids = list(range(n))
    ref = checkpoint_index(reference, n)
    y = clustering.label_array(labels)
    for i, w in enumerate(items):
        size = getattr(w, "weight", w).shape[0]
        if size != len(y):
            raise ValueError(f"weights[{i}] has {size} samples but labels has {len(y)}")
    c = _check_class(cls, y)
    times = np.arange(n, dtype=np.float64) if epochs is None else np.asarray(epochs, float)
    if times.shape != (n,):
        raise ValueError(f"epochs must have one value per checkpoint ({n}), got {times.shape}")
    p = _params(max_k=max_k, min_size=min_size, min_gain=min_gain, pca_dims=pca_dims, seed=seed)
    return _track(
        lambda i: items[i],
        lambda i, groups, k: _held_means(items[i], groups, k),
        y,
        [c],
        ids,
        ref,
        times,
        p,
        False,
    )[c]


def track_subclusters(
    run: Run,
    cls: int,
    *,
    reference: int = -1,
    checkpoints: Sequence[int] | None = None,
    max_k: int = 6,
    min_size: int = 5,
    min_gain: float = 0.05,
    pca_dims: int = 20,
    seed: int = 0,
    progress: bool = True,
) -> SubclusterTrack:
    """Find the sub-clusters of class ``cls`` at one checkpoint and follow them through a run.

    The groups are found at ``reference`` with
    :func:`~linlens_widgets.analysis.clustering.subclusters`; then, at every checkpoint, the same
    samples give the persistence, the separation and the groups' mean W_eff (see the module
    docs). Clustering uses the run's isometric weight features (same distances as the flattened
    W_eff, much smaller); the group means stream the effective weights over row chunks, so a
    whole checkpoint's W_eff is never held.

    Parameters
    ----------
    run : Run
        A recorded run; its probe samples and labels are used.
    cls : int
        The class label to follow (e.g. 1 for the digit '1').
    reference : int, default -1
        Checkpoint where the groups are found (negative counts back; -1 is the trained network).
    checkpoints : sequence of int, optional
        Checkpoints to follow the groups through (default all).
    max_k, min_size, min_gain, pca_dims, seed
        As in :func:`~linlens_widgets.analysis.clustering.subclusters`.
    progress : bool, default True
        Show a progress bar over checkpoints.

    Returns
    -------
    SubclusterTrack
        ``.group_ids`` (N,), ``.members``, ``.persistence`` (E,), ``.separation`` (E,),
        ``.mean_weights`` (E, k, C, *input), ``.checkpoint_ids``, ``.epochs``.

    Raises
    ------
    ValueError
        If no probe sample has label ``cls``, or a checkpoint index is out of range.
    """
    y = clustering.label_array(run.probe_labels)
    c = _check_class(cls, y)
    p = _params(max_k=max_k, min_size=min_size, min_gain=min_gain, pca_dims=pca_dims, seed=seed)
    n = len(run.checkpoints)
    ids, ref = checkpoint_indices(checkpoints, n), checkpoint_index(reference, n)
    whole = _load_attached(run, _cache_key(run, ids, ref, np.unique(y).tolist(), p))
    if whole is not None:  # the whole-run result is attached: no need to recompute
        return whole[c]
    return track_all_subclusters(
        run,
        classes=[c],
        reference=reference,
        checkpoints=checkpoints,
        max_k=max_k,
        min_size=min_size,
        min_gain=min_gain,
        pca_dims=pca_dims,
        seed=seed,
        cache=False,
        progress=progress,
    )[c]


def track_all_subclusters(
    run: Run,
    *,
    classes: Sequence[int] | None = None,
    reference: int = -1,
    checkpoints: Sequence[int] | None = None,
    max_k: int = 6,
    min_size: int = 5,
    min_gain: float = 0.05,
    pca_dims: int = 20,
    seed: int = 0,
    cache: bool = True,
    progress: bool = True,
) -> dict[int, SubclusterTrack]:
    """Track the sub-clusters of every class through a run (one pass over the checkpoints).

    Each checkpoint's features and effective weights are computed once for all classes. With
    ``cache`` the result of the default selection (all classes) is stored with the run as the
    analysis-store entry ``"subcluster_tracks"`` (written into the run folder when it has a
    writable one) and reused while the run's checkpoints and the parameters are unchanged.

    Parameters
    ----------
    run : Run
        A recorded run.
    classes : sequence of int, optional
        Class labels to follow (default every label among the probe samples).
    reference, checkpoints, max_k, min_size, min_gain, pca_dims, seed, progress
        As in :func:`track_subclusters`.
    cache : bool, default True
        Reuse the attached result when it matches, and attach a new one.

    Returns
    -------
    dict[int, SubclusterTrack]
        One track per class label, in ascending label order.

    Examples
    --------
    >>> tracks = track_all_subclusters(run)                       # doctest: +SKIP
    >>> {c: t.persistence[0] for c, t in tracks.items()}           # doctest: +SKIP
    """
    n = len(run.checkpoints)
    ids = checkpoint_indices(checkpoints, n)
    ref = checkpoint_index(reference, n)
    y = clustering.label_array(run.probe_labels)
    chosen = np.unique(y).tolist() if classes is None else [_check_class(c, y) for c in classes]
    p = _params(max_k=max_k, min_size=min_size, min_gain=min_gain, pca_dims=pca_dims, seed=seed)
    key = _cache_key(run, ids, ref, chosen, p)
    if cache:
        stored = _load_attached(run, key)
        if stored is not None:
            return stored
    epochs = np.array([run.checkpoints[i].epoch for i in ids], dtype=np.float64)

    weights = run_weights(run)

    def means_of(i: int, groups: np.ndarray, k: int) -> np.ndarray:
        return weights.group_means(i, groups, k).numpy()

    tracks = _track(weights.weight_features, means_of, y, chosen, ids, ref, epochs, p, progress)
    if cache:
        AnalysisStore(run).put(ATTACHMENT, *_to_attachment(tracks, key))
    return tracks


# ----------------------------------------------------------------------------- storage


def _cache_key(
    run: Run, ids: list[int], reference: int, classes: list[int], p: _Params
) -> dict[str, Any]:
    from linlens_widgets.version import __version__

    return {
        "version": __version__,
        "steps": [c.step for c in run.checkpoints],
        "checkpoints": ids,
        "reference": reference,
        "classes": [int(c) for c in classes],
        "params": {
            "max_k": p.max_k,
            "min_size": p.min_size,
            "min_gain": p.min_gain,
            "pca_dims": p.pca_dims,
            "seed": p.seed,
        },
    }


def _to_attachment(
    tracks: dict[int, SubclusterTrack], key: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and metadata of :func:`track_all_subclusters`'s result, for the analysis store."""
    first = next(iter(tracks.values()))
    arrays: dict[str, np.ndarray] = {
        "checkpoint_ids": first.checkpoint_ids,
        "epochs": first.epochs,
        "group_ids": np.stack([t.group_ids for t in tracks.values()]),
        "persistence": np.stack([t.persistence for t in tracks.values()]),
        "separation": np.stack([t.separation for t in tracks.values()]),
    }
    for c, track in tracks.items():
        arrays[f"mean_weights_{c}"] = track.mean_weights
    return arrays, {"key": key}


def _load_attached(run: Run, key: dict[str, Any]) -> dict[int, SubclusterTrack] | None:
    """Return the attached tracks when they were computed with ``key``, else None."""
    stored = AnalysisStore(run).get(ATTACHMENT)
    if stored is None or stored[1].get("key") != key:
        return None
    arrays = stored[0]
    return {
        c: SubclusterTrack(
            cls=c,
            reference=key["reference"],
            group_ids=arrays["group_ids"][row].astype(np.int64),
            persistence=arrays["persistence"][row].astype(np.float64),
            separation=arrays["separation"][row].astype(np.float64),
            mean_weights=arrays[f"mean_weights_{c}"],
            checkpoint_ids=arrays["checkpoint_ids"].astype(np.int64),
            epochs=arrays["epochs"].astype(np.float64),
        )
        for row, c in enumerate(key["classes"])
    }
