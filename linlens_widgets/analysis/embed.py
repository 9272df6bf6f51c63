"""``embed``: one 2-D layout of the probe samples' effective weights per checkpoint, aligned.

Pipeline; steps 1-2 stream the checkpoints, up to two at a time when ``n_jobs`` allows (memory is
bounded by two checkpoints' features, ``REDUCE_IN_FLIGHT``):

1. **Features.** ``run_weights(run).weight_features(i)``: the engine's isometric features of
   W_eff (exact distances and inner products, folded through the first layer when that is
   smaller than the flattened ``C x D`` weights), so 70,000 MNIST samples never need
   70,000 x 10 x 784 floats.
2. **PCA** to ``pca_dims`` per checkpoint, randomized and streamed over row chunks
   (:mod:`linlens_widgets.analysis._pca` explains why per checkpoint and not one shared basis:
   the features' coordinates differ between checkpoints, only their geometry is comparable).
3. **Affinities**: perplexity-based affinities of each checkpoint over its exact
   ``3 * perplexity`` nearest neighbours (openTSNE's Annoy above 20,000 points).
4. **Layout**: ``align=True`` minimises one dynamic t-SNE cost over all frames (per-frame
   t-SNE objectives plus a movement penalty of stiffness ``coupling``): the last checkpoint gets
   the full t-SNE schedule, every other frame starts from its neighbour's layout (restarting
   its early exaggeration when most of its neighbourhoods changed) and stops when it has
   converged (see :mod:`linlens_widgets.analysis._tsne`); ``align=False`` runs
   independent t-SNEs, the baseline.
5. **Quality**: per frame, the KL divergence for its own affinities and the 10-NN recall of the
   layout against the full-dimensional features (exact neighbours; at most 2,000 query points).
6. **Normalise** all frames by one translation and one scale into [-1, 1], and keep the
   result in the run's analysis store (entry ``"trajectory"``, see
   :class:`~linlens_widgets.analysis.store.AnalysisStore`) so widgets reopen it instantly.

Schedule and default ``coupling = 0.0015``, measured with ``benchmarks/embed.py`` on a bias-free
digits MLP 64-128-128-10 (10 log-spaced checkpoints over 20 epochs; perplexity 30; probe: the
1,797 digits images, then 1-pixel translations of them up to N). Steadier divides independent
openTSNE's mean Procrustes displacement between consecutive frames (0.40-0.41) by the
layout's; recall is the 10-NN recall against the full W_eff features minus independent
openTSNE's (0.538 at N = 2,000, 0.520 at N = 10,000); "frame-iterations" counts per-frame
gradient evaluations (independent: 7,500); the CPU ratio divides this process's CPU time by
that of independent openTSNE (one thread each). N = 2,000:

==================================================  ========  =======  ================
aligned schedule                                    steadier  recall   frame-iterations
==================================================  ========  =======  ================
warm starts + joint descent, coupling 0.01          9.35x     -0.040   6,275
warm starts + joint descent, coupling 0.003         6.01x     -0.025   6,750
warm starts + per-frame sweep, coupling 0.003       6.68x     -0.038   3,450
same, frames start with 50 iterations at 4x         5.85x     -0.028   2,900
same, coupling 0.002                                5.03x     -0.022   3,075
restart frames with affinity overlap < 0.3          4.46x     -0.021   3,450
restart below 0.5, coupling 0.0015                  3.61x     -0.015   3,750
**same, stop at 0.2 % per 25 iterations (default)** **3.61x** -0.015   3,325
==================================================  ========  =======  ================

N = 10,000 (same run; the schedule of the first row is the previous default):

==================================================  ========  =======  =========
aligned schedule                                    steadier  recall   CPU ratio
==================================================  ========  =======  =========
coupling 0.002, FFT gradients at every iteration    6.63x     -0.061   1.19
same, Barnes-Hut once the layout is spread          7.12x     -0.066   0.59
+ restart frames with affinity overlap < 0.3        4.65x     -0.042   0.48
restart below 0.5                                   4.18x     -0.035   0.48
restart below 0.5, coupling 0.001                   2.73x     -0.013   0.50
restart below 0.3, coupling 0 (no spring)           1.26x     -0.005   0.86
restart below 0.5, coupling 0.0015                  3.49x     -0.023   0.46
**same, stop at 0.2 % per 25 iterations (default)** **3.42x** -0.024   0.39
==================================================  ========  =======  =========

The benchmark itself with the defaults: CPU ratio 0.40 (wall 0.41), 3.42x steadier, recall
-0.024 at N = 10,000; 0.46 (wall 0.46), 3.51x, -0.014 at N = 2,000 (``benchmarks/RESULTS.md``).
In the table the first row is the benchmark's; the others ran the layouts alone on the run's cached
features against one independent openTSNE pass (464 s CPU); the last two rows also have the
faster exact neighbour search. 250 instead of 125 exaggerated iterations for a restart changed
nothing. Frames stop once their objective falls by less than 0.2 % per 25 iterations (0.1 %
before: 11-19 % more iterations for the same recall).

Where the time went at N = 10,000: openTSNE's FFT-interpolated gradient costs 0.015 s per
iteration on a compact layout but 0.15 s on a converged one (its grid grows with the square of
the layout's extent), while Barnes-Hut costs about 0.06 s whatever the extent. Independent
t-SNE spends its 250 exaggerated iterations compact; every warm-started frame starts spread, so
with FFT throughout the aligned t-SNE paid the top price for nearly every iteration. Now each
gradient picks FFT only from 10,000 points while the layout's extent is at most 80.

Recall: between epochs 0.5 and 9 the training replaces most neighbourhoods (affinity overlap
between consecutive checkpoints 0.16-0.43, i.e. 14-40 % of each point's 10 nearest neighbours
kept). A warm start from the successor's layout then traps points in clusters they no longer
belong to; such frames restart the early exaggeration from the successor's layout shrunk to the
initial size (orientation kept). The spring's energy grows with the square of the layout's
extent, which grows with N, so at N = 10,000 the 0.002 spring of N = 2,000 held changed frames
at a KL divergence of 2.0-2.6 against 1.4-1.6 for independent t-SNE; 0.0015 keeps both sizes
within the recall tolerance and above 3x steadier. The previous schedule (all frames descending
jointly from one PCA start with the full 750-iteration schedule, coupling 0.01) measured
4.20x / -0.014 on a 450-sample probe and cost as much as independent t-SNE. Alternatives
measured earlier: starting each checkpoint from its neighbour's layout alone was 1.9x steadier;
one joint t-SNE whose affinity graph links each sample to its copy in the next frame reached
2.6x only at a recall cost of 0.05, because all frames repel each other in one shared kernel.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from linlens_widgets.analysis._pca import ArrayLike, randomized_pca
from linlens_widgets.analysis._quality import (
    kl_divergence,
    knn_indices,
    knn_recall,
    procrustes_rotation,
    query_indices,
)
from linlens_widgets.analysis._tsne import frame_affinities, tsne_dynamic, tsne_independent
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.threads import imap_threads, map_threads, resolve_jobs
from linlens_widgets.analysis.trajectory import (
    ALGORITHM_VERSION,
    ATTACHMENT,
    Trajectory,
    normalise_positions,
)
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.progress import tqdm
from linlens_widgets.runs.indexing import checkpoint_indices

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["DEFAULT_COUPLING", "embed", "embed_features"]

Method = Literal["tsne", "pca"]

#: Default movement-penalty stiffness of the aligned t-SNE (see the module docstring).
DEFAULT_COUPLING = 0.0015
#: Neighbours used for the recall figure.
RECALL_K = 10
#: Most points whose neighbourhoods are checked for the recall figure.
RECALL_QUERIES = 2000
#: Most checkpoints reduced (PCA, neighbours) at once, hence most features held at once.
REDUCE_IN_FLIGHT = 2


def embed(
    run: Run,
    *,
    method: Method = "tsne",
    perplexity: float = 30,
    pca_dims: int = 50,
    align: bool = True,
    coupling: float = DEFAULT_COUPLING,
    seed: int = 0,
    progress: bool = True,
    recompute: bool = False,
    checkpoints: Sequence[int] | None = None,
    n_iter: int = 750,
    n_jobs: int | None = None,
) -> Trajectory:
    """Embed the probe samples' effective weights at every checkpoint of a run.

    The result is kept in the run's analysis store (entry ``"trajectory"``, written to the run
    folder when it has a writable one, and by ``run.save``) and returned from there on the next
    call with the same parameters.

    Parameters
    ----------
    run : Run
        A recorded run with at least one checkpoint.
    method : {"tsne", "pca"}, default "tsne"
        ``"tsne"``: openTSNE. ``"pca"``: the top-2 principal components of each checkpoint
        (no optimisation, for huge N or quick looks; aligned frames are only rotated/reflected
        onto their neighbour, so each stays an orthogonal projection of its features).
    perplexity : float, default 30
        t-SNE perplexity. Needs ``N >= 3 * perplexity``.
    pca_dims : int, default 50
        Principal components kept per checkpoint before t-SNE.
    align : bool, default True
        Optimise frames together so that consecutive layouts are comparable; ``False`` embeds
        each checkpoint independently (the baseline, arbitrary orientation per frame).
    coupling : float, default 0.0015
        Stiffness of the movement penalty between consecutive frames (aligned t-SNE only):
        higher is steadier, lower keeps each frame's neighbourhoods better.
    seed : int, default 0
        Random seed (PCA, neighbour search, t-SNE).
    progress : bool, default True
        Show progress bars.
    recompute : bool, default False
        Ignore a cached trajectory with the same parameters.
    checkpoints : sequence of int, optional
        Checkpoint indices to embed (default: all).
    n_iter : int, default 750
        t-SNE iterations per frame: all of them for independent frames and the aligned t-SNE's
        reference frame (a third with early exaggeration); at most this many for the aligned
        t-SNE's other frames, which stop when their objective has converged.
    n_jobs : int, optional
        Threads for the W_eff features, the neighbour search and the t-SNE gradients. Default
        (``None`` or ``-1``): every core this process may run on; a positive integer caps them
        (``n_jobs=1`` for one thread). See :mod:`linlens_widgets.analysis.threads`.

    Returns
    -------
    Trajectory
        Positions ``(E, N, 2)`` in [-1, 1] plus epochs, labels and per-frame quality.

    Raises
    ------
    ValueError
        An unknown method, too few samples for the perplexity, or non-finite features.
    CheckpointIndexError
        No checkpoints, or a checkpoint index outside the run (also a ``ValueError``).

    Examples
    --------
    >>> import linlens_widgets as ll
    >>> traj = ll.embed(run)                           # doctest: +SKIP
    >>> traj.positions.shape                           # doctest: +SKIP
    (8, 450, 2)
    """
    ids = _checkpoint_ids(run, checkpoints)
    labels = to_numpy(run.probe_labels).astype(np.int64)
    params = _params(method, perplexity, pca_dims, align, coupling, seed, n_iter, ids)
    if not recompute:
        cached = _cached(run, params, len(labels), ids=ids, labels=labels)
        if cached is not None:
            return cached
    n_jobs = resolve_jobs(n_jobs)
    weights = run_weights(run)
    features = (weights.weight_features(i, n_jobs=n_jobs) for i in ids)
    trajectory = embed_features(
        features,
        labels,
        method=method,
        perplexity=perplexity,
        pca_dims=pca_dims,
        align=align,
        coupling=coupling,
        seed=seed,
        progress=progress,
        n_iter=n_iter,
        n_jobs=n_jobs,
        n_frames=len(ids),
        frame_names=[f"checkpoint {i} (epoch {run.checkpoints[i].epoch:g})" for i in ids],
    )
    trajectory.epochs = np.array([run.checkpoints[i].epoch for i in ids], dtype=np.float64)
    trajectory.steps = np.array([run.checkpoints[i].step for i in ids], dtype=np.int64)
    trajectory.checkpoint_ids = np.asarray(ids, dtype=np.int64)
    trajectory.params = params
    AnalysisStore(run).put(ATTACHMENT, *trajectory.to_arrays())
    return trajectory


def embed_features(
    features: Iterable[ArrayLike] | np.ndarray,
    labels: ArrayLike | None = None,
    *,
    method: Method = "tsne",
    perplexity: float = 30,
    pca_dims: int = 50,
    align: bool = True,
    coupling: float = DEFAULT_COUPLING,
    seed: int = 0,
    progress: bool = True,
    n_iter: int = 750,
    n_jobs: int | None = None,
    n_frames: int | None = None,
    frame_names: Sequence[str] | None = None,
) -> Trajectory:
    """Embed per-checkpoint feature matrices (the engine behind :func:`embed`).

    Parameters
    ----------
    features : iterable of array or np.ndarray
        ``E`` matrices ``(N, k)`` (any trailing shape is flattened), one per checkpoint, in
        training order; or one ``(E, N, ...)`` array. Consumed once, one matrix at a time.
    labels : array, optional
        ``(N,)`` class labels stored with the result.
    method, perplexity, pca_dims, align, coupling, seed, progress, n_iter, n_jobs
        As in :func:`embed`.
    n_frames : int, optional
        Number of matrices, for the progress bar when ``features`` is a generator.
    frame_names : sequence of str, optional
        How error messages name each frame (default ``"checkpoint position t"``).

    Returns
    -------
    Trajectory
        With ``epochs``/``checkpoint_ids`` set to ``0..E-1`` (``embed`` fills in the run's).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> feats = rng.normal(size=(3, 60, 8))
    >>> embed_features(feats, method="pca", progress=False).positions.shape
    (3, 60, 2)
    """
    if method == "umap":
        raise ValueError(
            "method='umap' is not offered (removed with the umap extra); use method='tsne' "
            "(aligned across checkpoints) or method='pca'"
        )
    if method not in ("tsne", "pca"):
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    if perplexity <= 0:
        raise ValueError(f"perplexity must be > 0, got {perplexity}")
    if pca_dims < 2:
        raise ValueError(f"pca_dims must be >= 2, got {pca_dims}")
    if coupling < 0:
        raise ValueError(f"coupling must be >= 0, got {coupling}")
    n_jobs = resolve_jobs(n_jobs)
    total = n_frames if n_frames is not None else _length(features)
    # One BLAS thread whatever n_jobs: the small dense products (QR of N x 60 blocks, the exact
    # neighbour blocks) are 10-100x slower with several BLAS threads on a busy machine (on the
    # shared 2-core box all cores took 4x the CPU time of one thread); the heavy t-SNE work is
    # threaded by openTSNE itself (n_jobs).
    with threadpool_limits(limits=1, user_api="blas"):
        return _embed_features(
            features,
            labels,
            method,
            perplexity,
            pca_dims,
            align,
            coupling,
            seed,
            progress,
            n_iter,
            n_jobs,
            total,
            frame_names,
        )


def _embed_features(
    features: Iterable[ArrayLike],
    labels: ArrayLike | None,
    method: str,
    perplexity: float,
    pca_dims: int,
    align: bool,
    coupling: float,
    seed: int,
    progress: bool,
    n_iter: int,
    n_jobs: int,
    total: int | None,
    frame_names: Sequence[str] | None,
) -> Trajectory:
    dims = 2 if method == "pca" else pca_dims
    reduced, high_nn, queries = _reduce_all(
        features, dims, perplexity, method, seed, progress, total, frame_names, n_jobs
    )
    n = reduced[0].shape[0]
    if method == "pca":
        raw, kl = _pca_layouts(reduced, align), np.full(len(reduced), np.nan)
    else:
        raw, kl = _tsne_layouts(
            reduced, perplexity, align, coupling, seed, n_iter, n_jobs, progress
        )
    recall = np.array(
        map_threads(lambda t: knn_recall(high_nn[t], raw[t], queries), range(len(raw)), n_jobs)
    )
    labels_np = np.zeros(n, dtype=np.int64) if labels is None else to_numpy(labels).astype(np.int64)
    if labels_np.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {labels_np.shape}")
    return Trajectory(
        normalise_positions(raw),
        labels=labels_np,
        kl=kl,
        knn_recall=recall,
        method=method,
        params=_params(method, perplexity, pca_dims, align, coupling, seed, n_iter, None),
    )


# ----------------------------------------------------------------------------- features


def _reduce_all(
    features: Iterable[ArrayLike],
    dims: int,
    perplexity: float,
    method: str,
    seed: int,
    progress: bool,
    total: int | None,
    frame_names: Sequence[str] | None,
    n_jobs: int,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """PCA-reduce each checkpoint and record its high-dimensional neighbours.

    The checkpoints are checked in order as they arrive and reduced on up to
    ``REDUCE_IN_FLIGHT`` threads (each PCA runs on one BLAS thread), so at most that many
    checkpoints' features are held at once.
    """
    first: dict[str, Any] = {}

    def checked() -> Iterator[ArrayLike]:
        bar = tqdm(
            features,
            total=total,
            desc="features + PCA",
            unit="ckpt",
            leave=False,
            disable=not progress,
        )
        for t, x in enumerate(bar):
            name = frame_names[t] if frame_names is not None else f"checkpoint position {t}"
            x = _check_frame(x, name, first.get("n"))
            if t == 0:
                first["n"] = x.shape[0]
                _check_size(x.shape[0], perplexity, method)
                first["queries"] = query_indices(x.shape[0], RECALL_QUERIES, seed)
            yield x

    def reduce(x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        n = x.shape[0]
        scores = randomized_pca(x, dims, seed=seed).scores
        return scores, knn_indices(x, min(RECALL_K, n - 1), first["queries"])

    pieces = list(imap_threads(reduce, checked(), n_jobs, in_flight=REDUCE_IN_FLIGHT))
    if not pieces:
        raise ValueError("no checkpoints to embed: the run (or feature list) is empty")
    reduced, high_nn = (list(part) for part in zip(*pieces, strict=True))
    return reduced, high_nn, first["queries"]


def _check_frame(x: ArrayLike, name: str, n_expected: int | None) -> ArrayLike:
    """Validate one checkpoint's features: 2-D after flattening, finite, consistent N."""
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"features of {name} must be (N, k), got shape {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    if n_expected is not None and x.shape[0] != n_expected:
        raise ValueError(f"features of {name} have N={x.shape[0]} rows, expected {n_expected}")
    finite = torch.isfinite(x) if isinstance(x, torch.Tensor) else np.isfinite(x)
    bad = int((~finite).sum())
    if bad:
        raise ValueError(
            f"features of {name} contain {bad} non-finite (NaN/inf) value(s); "
            "the model's weights or inputs at that checkpoint are not finite"
        )
    return x


def _check_size(n: int, perplexity: float, method: str) -> None:
    if method == "pca":
        if n < 3:
            raise ValueError(f"need at least 3 samples to embed, got N={n}")
        return
    if n < 3 * perplexity:
        raise ValueError(
            f"N={n} samples is too few for perplexity={perplexity}: need N >= 3 * perplexity = "
            f"{3 * perplexity:g}; lower the perplexity or use a larger probe set"
        )


# ----------------------------------------------------------------------------- layouts


def _tsne_layouts(
    reduced: list[np.ndarray],
    perplexity: float,
    align: bool,
    coupling: float,
    seed: int,
    n_iter: int,
    n_jobs: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame affinities, then dynamic (aligned) or independent t-SNE; raw layouts + KL."""
    frames = map_threads(
        lambda x: frame_affinities(x, perplexity, seed=seed, n_jobs=1), reduced, n_jobs
    )
    with _TsneBar(disable=not progress) as bar:
        kwargs: dict[str, Any] = {"n_iter": n_iter, "seed": seed, "n_jobs": n_jobs}
        if align:
            raw = tsne_dynamic(reduced, frames, coupling, progress=bar, **kwargs)
        else:
            raw = tsne_independent(reduced, frames, progress=bar, **kwargs)
    kl = np.array(map_threads(lambda t: kl_divergence(frames[t], raw[t]), range(len(raw)), n_jobs))
    return raw, kl


class _TsneBar:
    """t-SNE progress: iterations against the budget of the stages seen so far, per frame.

    Each stage (a frame, or the joint refinement) adds its iteration budget to the bar's total
    when it starts and gives back what it did not use when it stops early, so the bar's ETA is
    that of the work actually left in the stages seen; the description names the frame.
    """

    def __init__(self, disable: bool):
        self.bar = tqdm(total=0, desc="t-SNE", unit="it", leave=False, disable=disable)
        self.used = 0
        self.budget = 0

    def __enter__(self) -> _TsneBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def stage(self, name: str, budget: int) -> None:
        self.used, self.budget = 0, budget
        self.bar.total += budget
        self.bar.set_description(f"t-SNE {name}", refresh=False)
        self.bar.refresh()

    def advance(self, iterations: int) -> None:
        self.used += iterations
        self.bar.update(iterations)

    def finish(self) -> None:
        self.bar.total -= max(0, self.budget - self.used)
        self.bar.refresh()


def _pca_layouts(reduced: list[np.ndarray], align: bool) -> np.ndarray:
    """Top-2 PCA per frame; aligned frames are rotated/reflected onto their successor."""
    out = [x[:, :2].astype(np.float64) for x in reduced]
    out = [np.pad(x, ((0, 0), (0, 2 - x.shape[1]))) for x in out]
    if align:
        for t in range(len(out) - 2, -1, -1):
            out[t] = out[t] @ procrustes_rotation(out[t], out[t + 1])
    return np.stack(out)


# ----------------------------------------------------------------------------- run plumbing


def _checkpoint_ids(run: Run, checkpoints: Sequence[int] | None) -> list[int]:
    """Non-negative positions of the checkpoints to embed (all of them by default)."""
    return checkpoint_indices(checkpoints, len(run.checkpoints))


def _params(
    method: str,
    perplexity: float,
    pca_dims: int,
    align: bool,
    coupling: float,
    seed: int,
    n_iter: int,
    ids: Sequence[int] | None,
) -> dict[str, Any]:
    """Collect the parameters that determine a trajectory, JSON-ready (cache key and provenance)."""
    params: dict[str, Any] = {
        "method": method,
        "perplexity": float(perplexity),
        "pca_dims": int(pca_dims),
        "align": bool(align),
        "coupling": float(coupling),
        "seed": int(seed),
        "n_iter": int(n_iter),
        "version": ALGORITHM_VERSION,
    }
    if ids is not None:
        params["checkpoints"] = [int(i) for i in ids]
    return params


def _cached(
    run: Run, params: dict[str, Any], n: int, *, ids: Sequence[int], labels: np.ndarray
) -> Trajectory | None:
    """Return the run's stored trajectory if it was computed with exactly these parameters.

    A stored trajectory with the right parameters but damaged content (non-finite positions,
    other checkpoints, another number of samples, other labels) is discarded with a warning, so
    it is recomputed instead of drawn.
    """
    stored = AnalysisStore(run).get(ATTACHMENT)
    if stored is None:
        return None
    arrays, meta = stored
    if meta.get("params") != params:
        return None
    try:
        trajectory = Trajectory.from_arrays(arrays, meta)
        problem = _damage(trajectory, n, ids, labels)
    except (ValueError, TypeError) as err:
        problem = str(err)
    if problem is not None:
        warnings.warn(
            f"the cached trajectory of this run is damaged ({problem}); discarding and "
            "recomputing it",
            stacklevel=3,
        )
        return None
    return trajectory


def _damage(trajectory: Trajectory, n: int, ids: Sequence[int], labels: np.ndarray) -> str | None:
    """Describe what is wrong with a stored trajectory for these checkpoints and labels, if any."""
    positions = np.asarray(trajectory.positions)
    if positions.shape != (len(ids), n, 2):
        return f"positions have shape {positions.shape}, expected {(len(ids), n, 2)}"
    if not np.isfinite(positions).all():
        return "positions hold NaN or infinite values"
    stored_ids = trajectory.checkpoint_ids
    if stored_ids is None or not np.array_equal(np.asarray(stored_ids), np.asarray(ids)):
        return "its checkpoint ids differ from the run's"
    if trajectory.labels is not None and not np.array_equal(trajectory.labels, labels):
        return "its labels differ from the probe's"
    return None


def _length(features: Any) -> int | None:
    try:
        return len(features)
    except TypeError:
        return None
