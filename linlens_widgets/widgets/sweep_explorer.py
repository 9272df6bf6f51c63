"""SweepExplorer: the runs of a sweep as small multiples, driven by one scrubber.

One scatter (an ``EmbeddingView``) per chosen run, all moved by one ``CheckpointScrubber`` that
walks a common epoch axis: the sorted union of the runs' checkpoint epochs. At each epoch of that
axis every scatter shows its own latest checkpoint at or before it (:func:`align_checkpoints`),
so runs whose checkpoints differ still line up in training time. Brushing in one scatter selects
the same probe samples in all of them (the runs must share one probe; :func:`check_shared_probe`).
One ``WeightCompare`` compares a sample across two runs: it is given a source that spans both
(:class:`RunPair`: run A's probe samples, then run B's), so the comparison shows sample ``s`` of
run A as A and the same sample of run B as B (numbered ``N + s``), each at its own mapped
checkpoint, through the comparison's usual fetch protocol. A small SVG chart overlays one metric
of every completed run, coloured by a grid parameter, with a cursor at the scrubber's epoch.

The links live in the front end (``js/src/sweep_explorer.js``; the rules are listed under
``SweepLayout`` in ``contract.json``), so scrubbing and brushing need no kernel and work the
same in the page ``save_html`` writes.

>>> import linlens_widgets as ll
>>> sw = ll.Sweep.load("sweeps/init")  # doctest: +SKIP
>>> ex = ll.SweepExplorer(sw, color_by="init_scale")  # doctest: +SKIP
>>> ex.save_html("init_scale.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets

from linlens_widgets.progress import tqdm
from linlens_widgets.runs.atomic_write import write_file_atomically
from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._bundle import bundle, bundle_path
from linlens_widgets.widgets.compare import WeightCompare
from linlens_widgets.widgets.embedding import EmbeddingView
from linlens_widgets.widgets.palettes import parameter_colors
from linlens_widgets.widgets.scrubber import CheckpointScrubber

__all__ = [
    "DEFAULT_MAX_PANELS",
    "RunPair",
    "SweepExplorer",
    "align_checkpoints",
    "check_shared_probe",
    "choose_runs",
    "common_epochs",
]

DEFAULT_MAX_PANELS = 6
"""Most scatters shown side by side by default (each is a WebGL canvas)."""

DEFAULT_PAGE_SAMPLES = 24
"""Probe samples whose cross-run comparison a saved page carries by default."""

EPOCH_TOLERANCE = 1e-9
"""Epochs closer than this (relative) count as equal when aligning checkpoints."""


# --------------------------------------------------------------------------- pure functions


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
    x0, y0 = _np(first.probe_inputs), _np(first.probe_labels)
    for run, label in zip(runs[1:], labels[1:], strict=True):
        x, y = _np(run.probe_inputs), _np(run.probe_labels)
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


# --------------------------------------------------------------------------- the comparison source


class RunPair:
    """A run-like source spanning two runs, for a ``WeightCompare`` across runs.

    Probe sample ``s`` (``0 ≤ s < N``) is run A's sample ``s``; ``N + s`` is run B's copy of it.
    Checkpoint ``k`` is position ``k`` of the common epoch axis: run A shows its checkpoint
    ``map_a[k]``, run B its ``map_b[k]``. Only what ``WeightCompare`` reads is provided.

    Parameters
    ----------
    run_a, run_b
        The two runs (same probe).
    map_a, map_b
        Run checkpoint index of each axis position, per run.
    axis
        The common epochs.
    """

    CACHE_BYTES = 64 * 2**20
    """Most bytes of stacked W_eff kept for recently shown positions."""

    def __init__(
        self,
        run_a: Any,
        run_b: Any,
        map_a: Sequence[int],
        map_b: Sequence[int],
        axis: Sequence[float],
    ) -> None:
        self.run_a, self.run_b = run_a, run_b
        self.map_a = [int(v) for v in map_a]
        self.map_b = [int(v) for v in map_b]
        self.n = len(run_a.probe_labels)
        self.probe_inputs = np.concatenate([_np(run_a.probe_inputs), _np(run_b.probe_inputs)])
        self.probe_labels = np.concatenate([_np(run_a.probe_labels), _np(run_b.probe_labels)])
        self.image_shape = tuple(run_a.image_shape)
        self.classes = list(getattr(run_a, "classes", None) or [])
        self.dataset_name = getattr(run_a, "dataset_name", "runs")
        self.checkpoints = [
            SimpleNamespace(
                epoch=float(e),
                step=int(run_a.checkpoints[a].step),
                metrics={},
                index=k,
            )
            for k, (e, a) in enumerate(zip(axis, self.map_a, strict=True))
        ]
        self._cache: dict[int, Any] = {}

    def effective_weights(self, k: int) -> Any:
        """Both runs' W_eff at axis position ``k``, stacked: (2N, C, …) with bias and output.

        Recent positions are kept (up to ``CACHE_BYTES``), so a saved page's bank, which reads
        every position twice (class means, then samples), computes each only once.
        """
        if k in self._cache:
            self._cache[k] = self._cache.pop(k)  # most recently used last
            return self._cache[k]
        ea = _sources.effective_weights(self.run_a, self.map_a[k])
        eb = _sources.effective_weights(self.run_b, self.map_b[k])
        bias = None if ea.bias is None or eb.bias is None else _concat(ea.bias, eb.bias)
        entry = SimpleNamespace(
            weight=_concat(ea.weight, eb.weight), bias=bias, output=_concat(ea.output, eb.output)
        )
        size = _nbytes(entry.weight)
        while self._cache and (len(self._cache) + 1) * size > self.CACHE_BYTES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[k] = entry
        return entry

    def predictions(self, k: int) -> np.ndarray:
        """Predicted class of every sample of both runs at axis position ``k``."""
        return _np(self.effective_weights(k).output).argmax(1)


# --------------------------------------------------------------------------- widgets


class SweepLayout(anywidget.AnyWidget):
    """The sweep explorer's front end: scatters, scrubber, comparison and metric chart, linked."""

    _esm = bundle("sweep_explorer.js")

    embeddings = traitlets.List(traitlets.Instance(EmbeddingView)).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    compare = traitlets.Instance(WeightCompare).tag(sync=True, **ipywidgets.widget_serialization)
    scrubber = traitlets.Instance(CheckpointScrubber).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    compare_runs = traitlets.List(traitlets.Int()).tag(sync=True)
    _panels = traitlets.List(traitlets.Dict()).tag(sync=True)
    _mapping = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    _epochs = traitlets.List(traitlets.Float()).tag(sync=True)
    _n_samples = traitlets.Int(0).tag(sync=True)
    _metric = traitlets.Dict().tag(sync=True)


class SweepExplorer(ipywidgets.VBox):
    """Runs of a sweep side by side: one scatter per run, one scrubber, one comparison.

    Parameters
    ----------
    sweep
        An ``ll.Sweep`` (from ``ll.sweep`` or ``ll.Sweep.load``).
    runs
        Which completed runs get a scatter: names, labels or positions in ``sweep.runs``
        (default: one per value of ``color_by`` at the grid's first seed, see
        :func:`choose_runs`).
    metric
        The metric the chart overlays across runs: a checkpoint metric (``test_acc``,
        ``train_loss``…) or a lens column of ``ll.plots.dynamics_table`` (``intra``,
        ``alignment``…). Default: ``test_acc`` when recorded, else the first recorded metric.
    color_by
        The grid parameter the runs are compared over and coloured by (default: the first grid
        parameter that varies, not the seed).
    max_panels
        Most scatters shown (default 6).
    compare_runs
        The two panels (positions) whose weights the comparison sets side by side (default: the
        first and the last).
    sample
        The probe sample compared first (default 0).
    height
        Height of each scatter in pixels (default 220).

    Raises
    ------
    ValueError
        When the sweep has no completed run, ``color_by`` is not a grid parameter, a named run
        is unknown, or the runs do not share one probe.

    Examples
    --------
    >>> ex = SweepExplorer(ll.Sweep.load("sweeps/init"), color_by="init_scale")  # doctest: +SKIP
    >>> ex.epoch = 0.5  # doctest: +SKIP
    """

    def __init__(
        self,
        sweep: Any,
        *,
        runs: Sequence[int | str] | None = None,
        metric: str | None = None,
        color_by: str | None = None,
        max_panels: int = DEFAULT_MAX_PANELS,
        compare_runs: tuple[int, int] | None = None,
        sample: int = 0,
        height: int = 220,
        **kwargs: Any,
    ) -> None:
        params = sweep.params
        if not params:
            raise ValueError(f"{sweep!r} has no completed runs to explore")
        labels = list(sweep.labels)
        self.color_by = color_by if color_by is not None else _default_color_by(params)
        chosen = (
            choose_runs(params, self.color_by, max_panels=max_panels)
            if runs is None
            else _resolve_runs(sweep, runs, labels, max_panels)
        )
        self.sweep = sweep
        self.indices = chosen
        self.runs = [sweep.runs[i] for i in chosen]
        self.labels = [labels[i] or sweep.completed[i].name for i in chosen]
        check_shared_probe(self.runs, self.labels)
        self.trajectories = _trajectories(self.runs, self.labels)
        run_epochs = [_epochs_of(r, t) for r, t in zip(self.runs, self.trajectories, strict=True)]
        self.epochs = common_epochs(run_epochs)
        self.mapping = [align_checkpoints(e, self.epochs) for e in run_epochs]
        colors = parameter_colors([params[i][self.color_by] for i in range(len(params))])
        self.embeddings = [
            EmbeddingView(t, run=r, height=height, checkpoint=int(m[-1]))
            for r, t, m in zip(self.runs, self.trajectories, self.mapping, strict=True)
        ]
        self.scrubber = CheckpointScrubber(_axis_trajectory(self.epochs))
        self.scrubber.set_trait("_frames", _axis_frames(self.epochs))
        pair = _pair_positions(compare_runs, len(self.runs))
        self.pair = self._make_pair(pair)
        n = self.pair.n
        self.compare = WeightCompare(self.pair, sample, n + sample, checkpoint=-1)
        panels = [
            {
                "label": label,
                "name": sweep.completed[i].name,
                "color": colors[i],
                "value": _jsonable(params[i][self.color_by]),
            }
            for i, label in zip(chosen, self.labels, strict=True)
        ]
        self.metric = metric or _default_metric(self.runs[0])
        chart = _metric_series(sweep, self.metric, self.color_by, colors)
        self.scrubber.set_trait("_series", self._sparklines(chart))
        self.layout_widget = SweepLayout(
            embeddings=self.embeddings,
            compare=self.compare,
            scrubber=self.scrubber,
            compare_runs=list(pair),
            _panels=panels,
            _mapping=[[int(v) for v in m] for m in self.mapping],
            _epochs=[float(e) for e in self.epochs],
            _n_samples=n,
            _metric=chart,
        )
        super().__init__(children=[self.layout_widget], **kwargs)

    # ------------------------------------------------------------------ state
    @property
    def checkpoint(self) -> int:
        """Position on the common epoch axis (the scrubber's)."""
        return self.scrubber.checkpoint

    @checkpoint.setter
    def checkpoint(self, value: int) -> None:
        # One command that moves every scatter and the comparison; the front end links them too.
        self.scrubber.checkpoint = value
        k = self.scrubber.checkpoint
        for view, m in zip(self.embeddings, self.mapping, strict=True):
            view.checkpoint = int(m[k])
        self.compare.checkpoint = k

    @property
    def epoch(self) -> float:
        """Training time shown: the common axis's epoch at the scrubber's position."""
        return float(self.epochs[self.scrubber.checkpoint])

    @epoch.setter
    def epoch(self, value: float) -> None:
        # The latest axis epoch at or before ``value`` (the first when it is earlier than all).
        self.checkpoint = int(align_checkpoints(self.epochs, [float(value)])[0])

    @property
    def selection(self) -> list[int]:
        """Selected probe samples (the same in every scatter)."""
        return list(self.embeddings[0].selection)

    @selection.setter
    def selection(self, value: Sequence[int]) -> None:
        for view in self.embeddings:
            view.selection = list(value)

    def compare_sample(self, sample: int) -> None:
        """Compare probe sample ``sample`` across the two compared runs.

        Raises
        ------
        ValueError
            When ``sample`` is not a probe index.
        """
        n = self.pair.n
        if not 0 <= int(sample) < n:
            raise ValueError(f"sample {sample} is out of range (the runs have {n} probes)")
        self.compare.a = [int(sample)]
        self.compare.b = [n + int(sample)]

    def compare_across(self, a: int, b: int) -> None:
        """Compare the runs of panels ``a`` and ``b`` (positions among the scatters)."""
        pair = _pair_positions((a, b), len(self.runs))
        self.pair = self._make_pair(pair)
        # The comparison reads its source on every fetch; a new revision drops cached images.
        self.compare.run = self.pair
        self.compare._revision += 1
        self.layout_widget.compare_runs = list(pair)

    def _sparklines(self, chart: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the scrubber's sparklines: the metric of the first two panels on the axis."""
        out = []
        for p in range(min(2, len(self.runs))):
            values = chart["series"][self.indices[p]]["values"]
            ids = _sources.checkpoint_ids(self.trajectories[p], self.runs[p])
            on_axis = [values[int(ids[k])] for k in self.mapping[p]]
            nan = float("nan")
            out.append(
                {
                    "name": f"{self.metric} · {self.labels[p]}",
                    "values": [nan if v is None else float(v) for v in on_axis],
                    "color": chart["series"][self.indices[p]]["color"],
                }
            )
        return out

    def _make_pair(self, pair: tuple[int, int]) -> RunPair:
        a, b = pair
        pairs = zip(self.runs, self.trajectories, strict=True)
        ids = [_sources.checkpoint_ids(t, r) for r, t in pairs]
        return RunPair(
            self.runs[a],
            self.runs[b],
            [int(ids[a][k]) for k in self.mapping[a]],
            [int(ids[b][k]) for k in self.mapping[b]],
            self.epochs,
        )

    # ------------------------------------------------------------------ saved page
    def save_html(
        self,
        path: str | Path,
        *,
        max_samples: int = DEFAULT_PAGE_SAMPLES,
        title: str | None = None,
    ) -> Path:
        """Write a single self-contained page: no kernel, no network.

        The page holds every scatter at every checkpoint, the scrubber, brushing linked across
        the scatters, and the metric chart; the cross-run comparison works for ``max_samples``
        probe samples spread over the classes (plus the one compared now), whose W_eff in both
        compared runs at every epoch of the axis is stored in the page.

        Parameters
        ----------
        path
            File to write (``.html``).
        max_samples
            How many probe samples the comparison works for (default 24).
        title
            Page title (default: the sweep's folder name).

        Returns
        -------
        Path
            The written file.

        Raises
        ------
        ValueError
            When ``max_samples`` < 2 or the stored W_eff would exceed the page's bound.
        """
        return _write_page(self, Path(path), max_samples=max_samples, title=title)


# --------------------------------------------------------------------------- helpers


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _concat(a: Any, b: Any) -> Any:
    if hasattr(a, "detach"):
        import torch

        return torch.cat([a, b.to(a.device)])
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _nbytes(t: Any) -> int:
    return int(t.numel() * t.element_size()) if hasattr(t, "numel") else int(np.asarray(t).nbytes)


def _key(v: Any) -> str:
    return repr(v)


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(_key(v), v)
    return list(seen.values())


def _sorted_values(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return values


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return str(v)


def _default_color_by(params: Sequence[dict[str, Any]]) -> str:
    names = list(params[0])
    varying = [n for n in names if len({_key(p.get(n)) for p in params}) > 1]
    for name in varying + names:
        if name != "seed":
            return name
    return names[0] if names else "seed"


def _resolve_runs(
    sweep: Any, runs: Sequence[int | str], labels: list[str], max_panels: int
) -> list[int]:
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


def _trajectories(runs: Sequence[Any], labels: Sequence[str]) -> list[Any]:
    """Each run's stored trajectory; the missing ones are computed here, visibly."""
    missing = [i for i, r in enumerate(runs) if _sources.stored_trajectory(r) is None]
    if missing:
        names = ", ".join(labels[i] for i in missing)
        print(f"{len(missing)} of {len(runs)} runs have no stored embedding ({names}); computing")
    out = []
    for i, run in enumerate(tqdm(runs, desc="embeddings", leave=False, disable=not missing)):
        out.append(_sources.trajectory_of(run, progress=i in missing))
    return out


def _epochs_of(run: Any, trajectory: Any) -> np.ndarray:
    ids = _sources.checkpoint_ids(trajectory, run)
    return np.asarray([float(run.checkpoints[int(i)].epoch) for i in ids], dtype=np.float64)


def _axis_trajectory(epochs: np.ndarray) -> Any:
    """Return a trajectory-shaped record of the common axis, which the scrubber walks."""
    n = len(epochs)
    return SimpleNamespace(
        positions=np.zeros((n, 1, 2), np.float32),
        labels=np.zeros(1, np.int32),
        epochs=np.asarray(epochs, dtype=np.float64),
        steps=np.arange(n),
        checkpoint_ids=np.arange(n),
    )


def _axis_frames(epochs: np.ndarray) -> list[dict[str, Any]]:
    return [
        {"epoch": float(e), "step": k, "label": f"epoch {float(e):.3g}", "metrics": {}}
        for k, e in enumerate(epochs)
    ]


def _pair_positions(pair: Sequence[int] | None, n: int) -> tuple[int, int]:
    if pair is None:
        return (0, n - 1)
    a, b = (int(v) for v in pair)
    for v in (a, b):
        if not 0 <= v < n:
            raise ValueError(f"compare_runs panel {v} is out of range (0…{n - 1})")
    return (a, b)


def _default_metric(run: Any) -> str:
    names: dict[str, None] = {}
    for c in run.checkpoints:
        names.update(dict.fromkeys(c.metrics))
    found = _sources.find_metric(dict.fromkeys(names, 0.0), _sources.ACCURACY_KEYS)
    if found is not None:
        return found
    if not names:
        raise ValueError("the runs record no checkpoint metrics; pass metric=...")
    return next(iter(names))


_SIMILARITY = ("intra", "inter")


def _metric_values(run: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (epochs, values) of one metric over a run's checkpoints.

    Checkpoint metrics are read from the run; the phenomena (``alignment``…) through
    ``phenomena_over_run``, which reuses what a sweep's analyses stored with the run; ``intra``
    and ``inter`` through ``ll.plots.dynamics_table`` (computed once and attached).
    """
    from linlens_widgets.analysis.phenomena import PHENOMENA, phenomena_over_run

    epochs = np.asarray([float(c.epoch) for c in run.checkpoints], dtype=np.float64)
    if any(name in c.metrics for c in run.checkpoints):
        values = [float(c.metrics.get(name, math.nan)) for c in run.checkpoints]
        return epochs, np.asarray(values, dtype=np.float64)
    if name in PHENOMENA:
        table = phenomena_over_run(run, (name,), progress=False)
        return epochs, np.asarray(table[name], dtype=np.float64)
    if name in _SIMILARITY:
        from linlens_widgets import plots

        table = plots.dynamics_table(run, lens=["similarity"], progress=False)
        return epochs, np.asarray(table[name], dtype=np.float64)
    raise ValueError(
        f"metric {name!r} is neither recorded with the checkpoints nor one of "
        f"{sorted([*PHENOMENA, *_SIMILARITY])}"
    )


def _metric_series(sweep: Any, name: str, color_by: str, colors: Sequence[str]) -> dict[str, Any]:
    """Return the chart's data: every completed run's ``name`` over epochs, with its colour."""
    series = []
    runs = sweep.runs
    for i, point in enumerate(tqdm(sweep.completed, desc=f"metric {name}", leave=False)):
        epochs, values = _metric_values(runs[i], name)
        series.append(
            {
                "label": point.label or point.name,
                "color": colors[i],
                "epochs": [float(e) for e in epochs],
                "values": [float(v) if math.isfinite(v) else None for v in values],
            }
        )
    return {"name": name, "color_by": color_by, "series": series}


# --------------------------------------------------------------------------- saved page


def _write_page(ex: SweepExplorer, path: Path, *, max_samples: int, title: str | None) -> Path:
    """Write the explorer's kernel-free page (see ``SweepExplorer.save_html``)."""
    from linlens_widgets.widgets import _page
    from linlens_widgets.widgets._codecs import array_to_b64

    n = ex.pair.n
    labels = _np(ex.runs[0].probe_labels).astype(np.int64)
    s = int((ex.compare.a or [0])[0]) % n
    chosen = _page.bank_samples(labels, max_samples, [s, *ex.selection[:1]])
    samples = np.concatenate([chosen, chosen + n])
    bank = _page.weight_bank(SimpleNamespace(compare=ex.compare), samples)
    models: dict[str, Any] = {}
    refs = []
    for k, view in enumerate(ex.embeddings):
        state = _page.page_state(view)
        if state.get("_values") is None:
            flags = np.zeros(n, np.float32)
            flags[chosen] = 1.0
            state["_values"] = array_to_b64(flags)
            state["value_name"] = "in this page"
        models[f"embedding{k}"] = {"kind": "embedding", "state": state}
        refs.append(f"IPY_MODEL_embedding{k}")
    models["compare"] = {"kind": "compare", "state": _page.page_state(ex.compare)}
    models["scrubber"] = {"kind": "scrubber", "state": _page.page_state(ex.scrubber)}
    layout = _page.page_state(ex.layout_widget)
    layout.update(embeddings=refs, compare="IPY_MODEL_compare", scrubber="IPY_MODEL_scrubber")
    models["sweep"] = {"kind": "sweep", "state": layout}
    config = {"root": "sweep", "models": models, "bank": bank}
    name = title or f"linlens sweep — {Path(getattr(ex.sweep, 'out', 'sweep')).name}"
    note = (
        f"Saved page: no kernel needed. {len(ex.runs)} runs of the sweep, every probe sample at "
        f"every epoch of the common axis ({len(ex.epochs)} epochs); brushing in one scatter "
        f"selects the same samples in all. The comparison across runs works for the "
        f"{len(chosen)} samples stored here (colour a scatter by \u201cin this page\u201d)."
    )
    page = _TEMPLATE.format(
        title=html.escape(name),
        note=html.escape(note),
        config=_page.script_json(config),
        bundle=bundle_path("sweep_page.js")
        .read_text(encoding="utf-8")
        .replace("</script", "<\\/script"),
    )
    return write_file_atomically(path, page.encode("utf-8"), check=_page.check_page)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px auto;
       max-width: 1400px; padding: 0 16px; color: #1f2328; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.linlens-page-note {{ color: #57606a; font-size: 13px; margin: 0 0 12px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="linlens-page-note">{note}</p>
<div id="linlens-app"></div>
<script id="linlens-config" type="application/json">{config}</script>
<script>{bundle}</script>
<script>
(function () {{
  // A page that cannot start says so in the page (as the explorer page does), never blank.
  var app = document.getElementById("linlens-app");
  function fail(err) {{
    var box = document.createElement("div");
    box.className = "linlens-error";
    box.setAttribute("role", "alert");
    box.style.cssText = "border:1px solid #d73a49;background:#ffeef0;color:#86181d;padding:8px";
    box.textContent = "This page could not be shown: " + (err && err.message ? err.message : err);
    app.prepend(box);
  }}
  try {{
    if (!window.linlensSweep) throw new Error("its code did not load; the file may be damaged");
    var config = JSON.parse(document.getElementById("linlens-config").textContent);
    window.linlensSweep.mountPage(app, config).then(function (p) {{
      window.linlensModels = p.models;
    }}, fail);
  }} catch (err) {{
    fail(err);
  }}
}})();
</script>
</body>
</html>
"""
