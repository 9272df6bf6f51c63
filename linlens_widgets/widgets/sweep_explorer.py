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

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets

from linlens_widgets.progress import tqdm
from linlens_widgets.widgets import _sources, run_facts
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets._page import DEFAULT_MAX_MB
from linlens_widgets.widgets.compare import WeightCompare
from linlens_widgets.widgets.embedding import EmbeddingView
from linlens_widgets.widgets.palettes import parameter_colors
from linlens_widgets.widgets.scrubber import CheckpointScrubber
from linlens_widgets.widgets.sweep_align import (
    DEFAULT_MAX_PANELS,
    align_checkpoints,
    check_shared_probe,
    choose_runs,
    common_epochs,
    default_color_by,
    resolve_runs,
)
from linlens_widgets.widgets.sweep_metric import default_metric, metric_chart
from linlens_widgets.widgets.sweep_page import DEFAULT_PAGE_SAMPLES, write_sweep_page
from linlens_widgets.widgets.sweep_pair import RunPair

__all__ = ["SweepExplorer", "SweepLayout"]


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
        self.color_by = color_by if color_by is not None else default_color_by(params)
        chosen = (
            choose_runs(params, self.color_by, max_panels=max_panels)
            if runs is None
            else resolve_runs(sweep, runs, labels, max_panels)
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
        self.metric = metric or default_metric(self.runs[0])
        chart = metric_chart(sweep, self.metric, self.color_by, colors, self.epochs)
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
            values = chart["series"][self.indices[p]]["y"]
            ids = run_facts.checkpoint_ids(self.trajectories[p], self.runs[p])
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
        ids = [run_facts.checkpoint_ids(t, r) for r, t in pairs]
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
        max_mb: float = DEFAULT_MAX_MB,
    ) -> Path:
        """Write a single self-contained page: no kernel, no network.

        The page holds every scatter at every checkpoint, the scrubber, brushing linked across
        the scatters, and the metric chart. When both compared networks are portable and the
        page fits ``max_mb``, it carries them and compares any probe sample across the runs at
        any epoch of the axis in the browser; otherwise the comparison works for
        ``max_samples`` probe samples spread over the classes (plus the one compared now),
        whose W_eff in both runs at every epoch of the axis is stored in the page.

        Parameters
        ----------
        path
            File to write (``.html``).
        max_samples
            How many probe samples a page without the networks stores (default 24).
        title
            Page title (default: the sweep's folder name).
        max_mb
            Size budget of the page in MB (default 30).

        Returns
        -------
        Path
            The written file.

        Raises
        ------
        ValueError
            When ``max_samples`` < 2 or the page would exceed ``max_mb``.
        """
        return write_sweep_page(
            self, Path(path), max_samples=max_samples, title=title, max_mb=max_mb
        )


# --------------------------------------------------------------------------- helpers


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return str(v)


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
    ids = run_facts.checkpoint_ids(trajectory, run)
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
