"""Analyses over a whole run: which exist, how each is computed, stored and revised.

:func:`over_run` evaluates any metric of ``(weights, labels)`` at every checkpoint. On top of it,
the *lens analyses* are the per-checkpoint series the figures, the explorer's metrics panel and
the sweeps read, each a set of named columns:

``similarity``
    ``intra``, ``inter``: class similarity of the probe samples' W_eff (centred cosine).
``agreement``
    ``agreement``, ``agreement_class_<k>``, ``agreement_input``: the share of each sample's 10
    nearest neighbours that carry its label, in W_eff space and in the inputs.
``subclusters``
    ``persistence_<k>``, ``separation_<k>``, ``groups_<k>``: each class's sub-clusters, found
    after training and followed back through it.
``phenomena``
    ``alignment``, ``local_complexity``, ``weight_variation``.

:func:`dynamics_table` gathers them with the recorded checkpoint metrics into one table of equal
columns. Each lens analysis is computed on first use and kept in the run's analysis store as
``plots.<name>`` (:class:`~linlens_widgets.analysis.store.AnalysisStore`, written into the run
folder when it has a writable one) under a key of the package version, the checkpoints and the
analysis's revision, so re-plotting, or plotting a run saved after plotting, is instant, and a
result whose columns changed since is computed again.

>>> table = dynamics_table(run, lens=["similarity"])  # doctest: +SKIP
>>> table["intra"][-1] > table["intra"][0]  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from linlens_widgets.analysis.agreement import agreement_of_neighbors, knn_agreement
from linlens_widgets.analysis.neighbors import checkpoint_neighbors
from linlens_widgets.analysis.phenomena import phenomena_over_run
from linlens_widgets.analysis.similarity import class_similarity
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.subcluster_tracking import track_all_subclusters
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.progress import Progress, report, tqdm
from linlens_widgets.runs.indexing import checkpoint_indices
from linlens_widgets.version import __version__

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run

__all__ = [
    "AGREEMENT",
    "AGREEMENT_CLASS",
    "AGREEMENT_K",
    "PHENOMENA",
    "RESERVED_COLUMNS",
    "SIMILARITY",
    "SUBCLUSTER_COLUMNS",
    "LensAnalysis",
    "RunSeries",
    "dynamics_table",
    "is_agreement",
    "lens_needed",
    "lens_stored",
    "metric_column",
    "over_run",
    "panel_columns",
    "recorded_metrics",
]

LensAnalysis = Literal["similarity", "agreement", "subclusters", "phenomena"]
Source = Literal["auto", "weights", "features"]

SIMILARITY = ("intra", "inter")
"""Columns of the ``similarity`` analysis."""
AGREEMENT = ("agreement", "agreement_input")
"""Columns of the ``agreement`` analysis over all classes (W_eff, inputs)."""
AGREEMENT_CLASS = "agreement_class_"
"""Prefix of the ``agreement`` analysis's column of class index ``k``."""
AGREEMENT_K = 10
"""Neighbours counted by the ``agreement`` analysis."""
PHENOMENA = ("alignment", "local_complexity", "weight_variation")
"""Columns of the ``phenomena`` analysis."""
SUBCLUSTER_COLUMNS = ("persistence_", "separation_", "groups_")
"""Prefixes of the ``subclusters`` analysis's columns of class index ``k``."""

#: Column names the figures compute themselves; a recorded metric never takes one of them.
RESERVED_COLUMNS = frozenset(
    ["epoch", "step", "x", "intra", "inter", "agreement", "agreement_input", "subclusters",
     "subclusters_mean", "alignment", "local_complexity", "weight_variation"]
)  # fmt: skip


# ----------------------------------------------------------------------------- any metric


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


def over_run(
    run: Run,
    fn: Callable[..., Any],
    *,
    source: Source = "auto",
    checkpoints: Sequence[int] | None = None,
    progress: Progress = True,
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
        features for a function marked ``accepts_features`` (:func:`class_similarity`,
        :func:`knn_agreement`), weights otherwise.
    checkpoints : sequence of int, optional
        Checkpoint indices (default all).
    progress : bool or callable, default True
        Show a progress bar over checkpoints; a callable is told ``(name, done, total)`` after
        each checkpoint instead (``linlens_widgets.progress.ProgressHook``).
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
    engine = run_weights(run)
    load = engine.weight_features if use_features else engine.effective_weights
    name = getattr(fn, "__name__", "metric")
    return _series(run, ids, name, progress, lambda i: fn(load(i), labels, **kwargs))


def _series(
    run: Run, ids: Sequence[int], name: str, progress: Progress, at: Callable[[int], Any]
) -> RunSeries:
    """``at(i)`` for every checkpoint index in ``ids``, with progress told after each one."""
    results = RunSeries()
    bar = tqdm(ids, desc=name, unit="ckpt", leave=False, disable=progress is not True)
    for done, i in enumerate(bar, 1):
        results.append(at(i))
        report(progress, name, done, len(ids))
    results.checkpoint_ids = np.asarray(ids, dtype=np.int64)
    results.epochs = np.array([run.checkpoints[i].epoch for i in ids], dtype=np.float64)
    return results


# ----------------------------------------------------------------------------- the table


def dynamics_table(
    run: Run,
    *,
    lens: Sequence[LensAnalysis] = ("similarity", "agreement", "subclusters"),
    recompute: bool = False,
    progress: Progress = True,
) -> dict[str, np.ndarray]:
    """Return every per-checkpoint value the figures draw, as columns of equal length.

    Columns: ``epoch``, ``step`` and one per recorded checkpoint metric (e.g. ``train_loss``;
    a metric named like a computed column is ``metric.<name>``, see :func:`metric_column`);
    with ``"similarity"`` in ``lens``, the class similarity of the probe samples' effective
    weights ``intra`` and ``inter``; with ``"agreement"``, the share of each probe sample's 10
    nearest neighbours in W_eff space (centred cosine) that carry its label,
    ``ll.metrics.knn_agreement``: ``agreement`` overall, ``agreement_class_<k>`` for class index
    ``k``, and ``agreement_input``, the same measured on the probe inputs (the structure the data
    already has; one value repeated); with ``"subclusters"``, each class's sub-clusters found at
    the last checkpoint and followed through training (``ll.metrics.track_all_subclusters``):
    ``persistence_<k>``, ``separation_<k>`` and ``groups_<k>`` (the number of groups) of class
    index ``k``; with ``"phenomena"``, ``alignment``, ``local_complexity`` (mean
    over the probe samples) and ``weight_variation`` (``ll.metrics.phenomena_over_run``). Each
    lens analysis is computed with :func:`over_run` on
    first use and kept in the run's analysis store (``plots.similarity``, ``plots.agreement``,
    ``plots.subclusters``),
    so later calls, and the run once saved, reuse it.

    Parameters
    ----------
    run
        A trained or loaded run.
    lens
        Which lens analyses to include (default all but ``"phenomena"``; sub-clusters cost the
        most).
    recompute
        Ignore stored results and compute again (default False).
    progress
        Show a progress bar while an analysis is computed (default True), or a
        ``ProgressHook`` told each checkpoint done.

    Returns
    -------
    dict[str, np.ndarray]
        Float64 columns of length ``len(run.checkpoints)``.

    >>> table = dynamics_table(run)  # doctest: +SKIP
    >>> table["intra"][-1] > table["intra"][0]  # doctest: +SKIP
    True
    """
    checkpoints = run.checkpoints
    table: dict[str, np.ndarray] = {
        "epoch": np.array([c.epoch for c in checkpoints], dtype=np.float64),
        "step": np.array([c.step for c in checkpoints], dtype=np.float64),
    }
    for name in _recorded_names(run):
        table[metric_column(name)] = np.array(
            [c.metrics.get(name, np.nan) for c in checkpoints], dtype=np.float64
        )
    for analysis in lens:
        if analysis not in _LENS_ANALYSES:
            raise ValueError(f"unknown lens analysis {analysis!r}; use {', '.join(_LENS_ANALYSES)}")
        table.update(_lens_analysis(run, analysis, recompute=recompute, progress=progress))
    return table


def metric_column(name: str) -> str:
    """Column of a recorded metric in :func:`dynamics_table`: its name, or ``metric.<name>``.

    A metric named like a column the figures compute (``epoch``, ``step``, the plot's ``x``, a
    lens analysis) is namespaced, so it can never overwrite the x axis or an analysis.

    >>> metric_column("test_acc"), metric_column("epoch")
    ('test_acc', 'metric.epoch')
    """
    reserved = name in RESERVED_COLUMNS or name.startswith(
        ("subclusters_", AGREEMENT_CLASS, "metric.")
    )
    return f"metric.{name}" if reserved else name


def panel_columns(run: Run, metrics: Sequence[str] | None = None) -> list[str]:
    """Return the columns the explorer's metrics panel draws: ``metrics``, else its default.

    The default is the recorded checkpoint metrics plus the class similarity and the kNN
    agreement (``ll.plots.metric_panel`` draws these).

    >>> panel_columns(run)  # doctest: +SKIP
    ['train_loss', 'test_acc', 'intra', 'inter', 'agreement', 'agreement_input']
    """
    if metrics is not None:
        return list(metrics)
    return [*recorded_metrics(run), *SIMILARITY, *AGREEMENT]


def recorded_metrics(run: Run) -> list[str]:
    """Columns of the recorded metrics in :func:`dynamics_table` (see :func:`metric_column`)."""
    return [metric_column(name) for name in _recorded_names(run)]


def is_agreement(name: str) -> bool:
    """Whether a column is a kNN agreement (a share in [0, 1], drawn with the accuracies)."""
    return name in AGREEMENT or name.startswith(AGREEMENT_CLASS)


def lens_needed(names: Sequence[str]) -> list[LensAnalysis]:
    """Return the lens analyses that provide ``names`` (a panel computes only what it draws)."""
    needed: list[LensAnalysis] = []
    if any(name in SIMILARITY for name in names):
        needed.append("similarity")
    if any(is_agreement(name) for name in names):
        needed.append("agreement")
    if any(name.startswith(SUBCLUSTER_COLUMNS) for name in names):
        needed.append("subclusters")
    if any(name in PHENOMENA for name in names):
        needed.append("phenomena")
    return needed


def _recorded_names(run: Run) -> list[str]:
    """Names of the scalar metrics recorded with the checkpoints, in first-seen order."""
    names: dict[str, None] = {}
    for checkpoint in run.checkpoints:
        names.update(dict.fromkeys(checkpoint.metrics))
    return list(names)


# ----------------------------------------------------------------------------- the lens analyses


def _lens_analysis(
    run: Run, analysis: LensAnalysis, *, recompute: bool, progress: Progress
) -> dict[str, np.ndarray]:
    """One lens analysis per checkpoint, kept in the run's analysis store while it is current."""
    cached = None if recompute else _stored_lens(run, analysis)
    if cached is not None:
        return {column: values.astype(np.float64) for column, values in cached.items()}
    arrays = _LENS_ANALYSES[analysis](run, progress)
    AnalysisStore(run).put(f"plots.{analysis}", arrays, {"key": _lens_key(run, analysis)})
    return arrays


def lens_stored(run: Run, lens: Sequence[LensAnalysis]) -> bool:
    """Whether every analysis in ``lens`` is stored with the run and current (nothing to compute).

    The explorer asks this to decide whether its metrics panel can be drawn at once.

    >>> lens_stored(run, ["similarity", "agreement"])  # doctest: +SKIP
    True
    """
    return all(_stored_lens(run, analysis) is not None for analysis in lens)


def _lens_key(run: Run, analysis: LensAnalysis) -> dict[str, Any]:
    """Return what a stored lens analysis must have been computed from to be current."""
    key: dict[str, Any] = {
        "version": __version__,
        "checkpoints": [c.step for c in run.checkpoints],
    }
    if analysis in _LENS_REVISIONS:  # an analysis whose columns changed: older results are stale
        key["revision"] = _LENS_REVISIONS[analysis]
    return key


def _stored_lens(run: Run, analysis: LensAnalysis) -> dict[str, np.ndarray] | None:
    """Return the stored columns of a lens analysis, or None when absent or stale."""
    cached = AnalysisStore(run).get(f"plots.{analysis}")
    if cached is None or cached[1].get("key") != _lens_key(run, analysis):
        return None
    return cached[0]


def _similarity_over_run(run: Run, progress: Progress) -> dict[str, np.ndarray]:
    """Intra- and inter-class similarity at every checkpoint (``ll.metrics.class_similarity``)."""
    series = over_run(run, class_similarity, progress=progress)
    return {"intra": series.stack("intra"), "inter": series.stack("inter")}


def _agreement_over_run(run: Run, progress: Progress) -> dict[str, np.ndarray]:
    """Return the kNN label agreement in W_eff space per checkpoint and class, and in the inputs.

    ``ll.metrics.knn_agreement`` with its 10 centred-cosine neighbours, on the engine's isometric
    features (the same neighbours as the flattened W_eff); the input-space baseline is one
    number for the whole run, repeated so that it draws as a flat reference line.
    """
    k = AGREEMENT_K
    n_classes = len(run.classes)
    series = _agreement_series(run, k, n_classes, progress)
    baseline = knn_agreement(run.probe_inputs, run.probe_labels, k, n_classes=n_classes)
    table = {
        "agreement": series.stack("overall"),
        "agreement_input": np.full(len(series), baseline.overall),
    }
    per_class = series.stack("per_class")  # (E, C)
    for c in range(n_classes):
        table[f"{AGREEMENT_CLASS}{c}"] = per_class[:, c]
    return table


def _agreement_series(run: Run, k: int, n_classes: int, progress: Progress) -> RunSeries:
    """``knn_agreement`` at every checkpoint, from the neighbour tables the comparison shares.

    The same as ``over_run(run, knn_agreement, k=k, n_classes=n_classes)``; the N x N search of
    each checkpoint is kept (``checkpoint_neighbors``) for the saved page's neighbour tables.
    """
    engine = run_weights(run)
    labels = run.probe_labels

    def at(i: int) -> Any:
        index, _ = checkpoint_neighbors(engine, i, k)
        return agreement_of_neighbors(index, labels, n_classes)

    return _series(run, range(len(run.checkpoints)), "knn_agreement", progress, at)


def _subclusters_over_run(run: Run, progress: Progress) -> dict[str, np.ndarray]:
    """Return the persistence and separation of every class's tracked sub-clusters.

    The groups are found once, after training, and the same samples are followed back to
    initialisation (``ll.metrics.track_all_subclusters``, which attaches its full result, group
    means included, to the run, and reuses one computed from the same checkpoints).
    """
    tracks = track_all_subclusters(run, progress=progress is True)
    table: dict[str, np.ndarray] = {}
    for k, track in enumerate(tracks.values()):
        table[f"persistence_{k}"] = track.persistence
        table[f"separation_{k}"] = track.separation
        table[f"groups_{k}"] = np.full(len(track.persistence), float(track.k))
    return table


def _phenomena_over_run(run: Run, progress: Progress) -> dict[str, np.ndarray]:
    """Neuron alignment, local complexity and weight variation at every checkpoint."""
    values = phenomena_over_run(run, which=PHENOMENA, progress=progress is True)
    return {name: np.asarray(values[name], dtype=np.float64) for name in PHENOMENA}


_LENS_ANALYSES: dict[str, Callable[[Run, Progress], dict[str, np.ndarray]]] = {
    "similarity": _similarity_over_run,
    "agreement": _agreement_over_run,
    "subclusters": _subclusters_over_run,
    "phenomena": _phenomena_over_run,
}
_LENS_REVISIONS = {"subclusters": 2}  # 1: sub-cluster counts per checkpoint; 2: tracked groups
