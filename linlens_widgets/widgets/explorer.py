"""LensExplorer: the scrubber, the scatter and the comparison linked, plus a Bokeh metrics panel.

The scrubber drives the scatter and the comparison; brushing in the scatter sets the compared
samples (the first two selected; or click for A, shift-click for B). Links run in the browser
(instant, and they also work in a saved page) and in Python (so the traits agree without a front
end). ``save_html`` writes a single self-contained page that works with no kernel and no network.

>>> import linlens_widgets as ll
>>> ex = ll.LensExplorer(run)  # doctest: +SKIP
>>> ex.scrubber.epoch = 0  # doctest: +SKIP
>>> ex.save_html("lecture.html")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets

from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets.compare import WeightCompare
from linlens_widgets.widgets.embedding import EmbeddingView
from linlens_widgets.widgets.scrubber import EpochScrubber

DEFAULT_PAGE_SAMPLES = 48
"""How many samples' effective weights a saved page carries by default (see ``save_html``)."""


class ExplorerLayout(anywidget.AnyWidget):
    """The explorer's front end: renders its three child widgets in one linked layout."""

    _esm = bundle("explorer.js")

    embedding = traitlets.Instance(EmbeddingView).tag(sync=True, **ipywidgets.widget_serialization)
    compare = traitlets.Instance(WeightCompare).tag(sync=True, **ipywidgets.widget_serialization)
    scrubber = traitlets.Instance(EpochScrubber).tag(sync=True, **ipywidgets.widget_serialization)


class LensExplorer(ipywidgets.VBox):
    """Linked exploration of a run: ``.scrubber``, ``.embedding``, ``.compare``, ``.panel``.

    Args:
        run: a trained or loaded ``Run``.
        trajectory: its embedding (default: ``ll.embed(run)``, cached in the run).
        color: colour mode or values for the scatter, as in ``EmbeddingView`` (default "label").
        sample_a: first compared probe sample (default 0).
        sample_b: second (default: the first sample of another class).
        epoch: checkpoint position to start at (default -1, the last).
        metrics: metric names for the Bokeh panel (default: ``ll.plots.metric_panel``'s).
        panel: show the Bokeh metrics panel (default True).
        class_means: show the class-mean W_eff row in the comparison (default False).

    Raises:
        ValueError: when the trajectory does not match the run, or a sample/epoch is invalid.

    >>> ex = LensExplorer(run, sample_a=3, sample_b=10)  # doctest: +SKIP
    >>> ex.embedding.selection = [5, 9]  # doctest: +SKIP
    >>> ex.compare.sample_a, ex.compare.sample_b  # doctest: +SKIP
    (5, 9)
    """

    def __init__(
        self,
        run: Any,
        *,
        trajectory: Any | None = None,
        color: Any = "label",
        sample_a: int | None = None,
        sample_b: int | None = None,
        epoch: int = -1,
        metrics: Sequence[str] | None = None,
        panel: bool = True,
        class_means: bool = False,
        **kwargs: Any,
    ) -> None:
        if not _sources.is_run(run):
            raise TypeError(f"LensExplorer needs a Run, got {type(run).__name__}")
        trajectory = _sources.trajectory_of(run) if trajectory is None else trajectory
        _sources.check_matches(trajectory, run)
        ids = _sources.checkpoint_ids(trajectory, run)
        labels = _sources.labels_of(run, None)
        a = 0 if sample_a is None else sample_a
        b = _other_class(labels, a) if sample_b is None else sample_b
        self.run = run
        self.trajectory = trajectory
        self.scrubber = EpochScrubber(run, epoch=epoch, checkpoints=ids)
        self.embedding = EmbeddingView(trajectory, run=run, color=color, epoch=self.scrubber.epoch)
        self.compare = WeightCompare(
            run, a, b, epoch=self.scrubber.epoch, checkpoints=ids, class_means=class_means
        )
        self.layout_widget = ExplorerLayout(
            embedding=self.embedding, compare=self.compare, scrubber=self.scrubber
        )
        self.panel = _metrics_panel(run, metrics, ids, self.scrubber.epoch) if panel else None
        children = [self.layout_widget] + ([self.panel] if self.panel is not None else [])
        super().__init__(children=children, **kwargs)
        # The browser links the three itself (instant, and the same code runs in saved pages);
        # these observers link changes made in Python. A change that arrives from the browser is
        # not echoed back, so a fast scrub never races a stale value from the kernel.
        for widget in (self.scrubber, self.embedding, self.compare):
            widget.observe(self._epoch_changed, names="epoch")
        self.embedding.observe(self._selection_changed, names="selection")
        if self.panel is not None:
            self.scrubber.observe(self._move_cursor, names="epoch")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # jupyter_bokeh draws with the page's BokehJS: load it (inline, no CDN) before the panel.
        if self.panel is not None:
            _load_bokehjs()
        return super()._repr_mimebundle_(**kwargs)

    def _epoch_changed(self, change: dict[str, Any]) -> None:
        if _from_front_end(change["owner"], "epoch"):
            return
        for widget in (self.scrubber, self.embedding, self.compare):
            if widget.epoch != change["new"]:
                widget.epoch = change["new"]

    def _selection_changed(self, change: dict[str, Any]) -> None:
        if _from_front_end(self.embedding, "selection"):
            return
        sel = list(change["new"])
        if len(sel) >= 2:
            with self.compare.hold_trait_notifications():
                self.compare.sample_a, self.compare.sample_b = sel[0], sel[1]

    def _move_cursor(self, change: dict[str, Any]) -> None:
        cursor = _cursor(self.panel)
        if cursor is not None:
            cursor.location = _cursor_x(self.panel, self.scrubber.checkpoint_ids)[change["new"]]

    def compare_selection(self) -> tuple[int, int]:
        """Compare the first two selected samples; returns them as (a, b).

        Raises:
            ValueError: when fewer than two points are selected (naming how many are).
        """
        sel = list(self.embedding.selection)
        if len(sel) < 2:
            raise ValueError(
                f"the selection holds {len(sel)} point(s); select at least two to compare"
            )
        self.compare.sample_a, self.compare.sample_b = sel[0], sel[1]
        return sel[0], sel[1]

    def save_html(
        self,
        path: str | Path,
        *,
        max_samples: int = DEFAULT_PAGE_SAMPLES,
        title: str | None = None,
        panel: bool = True,
    ) -> Path:
        """Write a single self-contained HTML page: no kernel, no network, no CDN.

        The page holds the whole scatter (every point at every checkpoint), the scrubber, and
        the comparison for a bounded set of samples: ``max_samples`` probes spread evenly over
        the classes, plus the currently compared A and B and the first two selected points. Their
        W_eff at every checkpoint is embedded (K × E × C × D float32); the page says which samples
        it holds and offers "in this page" as a scatter colouring. The Bokeh metrics panel is
        embedded with inline BokehJS (no CDN) and its cursor follows the scrubber.

        Args:
            path: file to write (``.html``).
            max_samples: how many probe samples the comparison works for (default 48).
            title: page title (default: the run's dataset name).
            panel: include the Bokeh metrics panel (default True).

        Returns:
            Path: the written file.

        Raises:
            ValueError: when ``max_samples`` < 2 or the embedded weights would exceed 64 MB.

        >>> ex.save_html("digits.html", max_samples=30)  # doctest: +SKIP
        """
        from linlens_widgets.widgets._page import write_page

        return write_page(self, Path(path), max_samples=max_samples, title=title, panel=panel)


def _from_front_end(widget: Any, name: str) -> bool:
    """Whether trait ``name`` of ``widget`` is being set by a message from the browser."""
    return name in getattr(widget, "_property_lock", {})


def _other_class(labels: np.ndarray, a: int) -> int:
    """Return the first probe sample whose label differs from sample ``a``'s (else ``a + 1``)."""
    if not 0 <= a < len(labels):
        raise ValueError(f"sample_a {a} is out of range (the run has {len(labels)} probes)")
    other = np.flatnonzero(labels != labels[a])
    if other.size:
        return int(other[0])
    return min(a + 1, len(labels) - 1)


def _metrics_panel(run: Any, metrics: Sequence[str] | None, ids: np.ndarray, epoch: int) -> Any:
    """Build a jupyter_bokeh panel of ``ll.plots.metric_panel`` with the cursor at ``epoch``."""
    from jupyter_bokeh import BokehModel

    from linlens_widgets import plots

    try:
        fig = plots.metric_panel(run, metrics, height=200)
    except Exception as err:  # the panel is optional; the linked widgets still work
        warnings.warn(f"metrics panel unavailable: {err}", stacklevel=3)
        return None
    fig.sizing_mode = "stretch_width"
    cursor = fig.select_one({"name": plots.CURSOR_NAME})
    if cursor is not None:
        cursor.location = _figure_x(fig)[int(ids[epoch])]
    return BokehModel(fig)


_BOKEHJS_LOADED = False


def _load_bokehjs() -> None:
    """Load BokehJS into the notebook once per kernel, from inline resources (works offline)."""
    global _BOKEHJS_LOADED
    if _BOKEHJS_LOADED:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
    _BOKEHJS_LOADED = True


def _figure_x(fig: Any) -> list[float]:
    """Return the x of every run checkpoint in a metric panel (its source named "checkpoints")."""
    source = fig.select_one({"name": "checkpoints"})
    return [float(v) for v in source.data["x"]]


def _cursor(panel: Any) -> Any:
    from linlens_widgets import plots

    return panel._model.select_one({"name": plots.CURSOR_NAME})


def _cursor_x(panel: Any, ids: np.ndarray) -> list[float]:
    xs = _figure_x(panel._model)
    return [xs[int(i)] for i in ids]
