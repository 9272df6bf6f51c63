"""LensExplorer: the scrubber, the scatter and the comparison linked, plus a Bokeh metrics panel.

The scrubber drives the scatter and the comparison; brushing in the scatter sets the compared
operands (a brush sets A to the group, shift+brush B; a click sets A to one sample, shift-click B).
``save_html`` writes a single self-contained page that works with no kernel and no network.

Where the links live: in the front end only (``js/src/explorer.js``; the rules are listed under
``links`` in ``contract.json``). The browser must link by itself, because scrubbing has to be
instant and a saved page has no kernel at all; Python then only mirrors the state the front end
syncs back through the traits, so the rules are written once. From Python, move all three at once
with ``LensExplorer.checkpoint`` and make a selection an operand with ``compare_selection()``;
those are explicit commands, not links. The one Python-side follower is the Bokeh panel's cursor
in a live notebook, because that Bokeh model lives in the kernel (a saved page moves it in its own
script, from the same ``widgets.panel.cursor_positions``).

>>> import linlens_widgets as ll
>>> ex = ll.LensExplorer(run)  # doctest: +SKIP
>>> ex.checkpoint = 0  # doctest: +SKIP
>>> ex.save_html("lecture.html")  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from linlens_widgets.progress import tqdm
from linlens_widgets.widgets import _sources
from linlens_widgets.widgets import panel as metrics_panel
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets.compare import (
    LIVE_TABLES_MAX_PROBES,
    WeightCompare,
    other_class_sample,
)
from linlens_widgets.widgets.embedding import EmbeddingView, menu_classes, ordinary_sample
from linlens_widgets.widgets.run_facts import RunFacts
from linlens_widgets.widgets.scrubber import CheckpointScrubber
from linlens_widgets.widgets.validate import set_state_or_keep

DEFAULT_PAGE_SAMPLES = 48
"""How many samples' effective weights a saved page carries by default (see ``save_html``)."""


class ExplorerLayout(anywidget.AnyWidget):
    """The explorer's front end: renders its three child widgets in one linked layout."""

    _esm = bundle("explorer.js")

    embedding = traitlets.Instance(EmbeddingView).tag(sync=True, **ipywidgets.widget_serialization)
    compare = traitlets.Instance(WeightCompare).tag(sync=True, **ipywidgets.widget_serialization)
    scrubber = traitlets.Instance(CheckpointScrubber).tag(
        sync=True, **ipywidgets.widget_serialization
    )

    # ------------------------------------------------------------------ browser boundary
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply an update from the browser; a bad value is refused, logged and sent back."""
        set_state_or_keep(self, super().set_state, sync_data)


class LensExplorer(ipywidgets.VBox):
    """Linked exploration of a run: ``.scrubber``, ``.embedding``, ``.compare``, ``.panel``.

    Parameters
    ----------
    run
        A trained or loaded ``Run``.
    trajectory
        Its embedding. By default the trajectory stored with the run; when there is none, it is
        computed here with ``ll.embed(run)`` (one printed line says what and where it is
        stored; a progress bar shows it), and stored in the run's folder unless the run has no
        folder or the folder is read-only.
    color
        Colour mode or values for the scatter, as in ``EmbeddingView`` (default "label").
    a
        Operand A of the comparison: a probe index or a list of them (default: the first sample
        of a class without tracked sub-clusters, else the first sample in none, so the A marker
        does not cover the groups the Colour menu offers).
    b
        Operand B (default: the first sample of another class).
    checkpoint
        Checkpoint position to start at (default -1, the last).
    metrics
        Metric names for the Bokeh panel (default: ``ll.plots.metric_panel``'s).
    panel
        Show the Bokeh metrics panel (default True).
    class_means
        Show the class-mean W_eff row in the comparison (default False).
    subclusters
        List "sub-clusters of c" in the scatter's Colour menu, as in ``EmbeddingView``
        (default None: when the run stores them; True tracks them first).

    Raises
    ------
    ValueError
        When the trajectory does not match the run, or a sample/checkpoint is invalid.

    Examples
    --------
    >>> ex = LensExplorer(run, a=3, b=[10, 11, 12])  # doctest: +SKIP
    >>> ex.checkpoint = 0  # doctest: +SKIP
    """

    def __init__(
        self,
        run: Any,
        *,
        trajectory: Any | None = None,
        color: Any = "label",
        a: int | Sequence[int] | None = None,
        b: int | Sequence[int] | None = None,
        checkpoint: int = -1,
        metrics: Sequence[str] | None = None,
        panel: bool = True,
        class_means: bool = False,
        subclusters: bool | None = None,
        **kwargs: Any,
    ) -> None:
        trajectory = _sources.trajectory_of(run) if trajectory is None else trajectory
        self.facts = facts = RunFacts.of_run(run, trajectory=trajectory)
        self.run = run
        self.trajectory = trajectory
        self.scrubber = CheckpointScrubber(run, checkpoint=checkpoint, facts=facts)
        k = self.scrubber.checkpoint
        self.embedding = EmbeddingView(
            trajectory, run=run, color=color, checkpoint=k, subclusters=subclusters, facts=facts
        )
        labels = facts.labels
        groups = self.embedding._groups
        a = ordinary_sample(labels, groups) if a is None else a
        b = other_class_sample(labels, a, menu_classes(groups, labels)) if b is None else b
        self.compare = WeightCompare(run, a, b, checkpoint=k, class_means=class_means, facts=facts)
        self.layout_widget = ExplorerLayout(
            embedding=self.embedding, compare=self.compare, scrubber=self.scrubber
        )
        self.panel_figure: Any = None
        self.panel: Any = None
        self._panel_thread: threading.Thread | None = None
        self._pending: Any = None
        self._shown = threading.Lock()  # guards _displayed and which panel the children show
        self._displayed = False
        if panel and len(facts.labels) > LIVE_TABLES_MAX_PROBES:  # drawn after the first state
            missing = metrics_panel.missing_analyses(run, metrics)
            self.panel = self._pending = pending = metrics_panel.PendingPanel(run, missing)
            self._panel_thread = threading.Thread(
                target=self._draw_panel_later,
                args=(metrics, pending),
                name="linlens-metrics-panel",
                daemon=True,
            )
        elif panel:
            self._attach_panel(metrics_panel.metrics_figure(run, metrics))
        children = [self.layout_widget] + ([self.panel] if self.panel is not None else [])
        super().__init__(children=children, **kwargs)
        if self._panel_thread is not None:
            self._panel_thread.start()

    def _attach_panel(self, fig: Any) -> None:
        """Make ``fig`` the panel: its cursor at the shown checkpoint, following the scrubber."""
        if fig is None:
            return
        self.panel_figure = fig
        self._cursor_xs = metrics_panel.cursor_positions(fig, self.facts.checkpoint_ids)
        metrics_panel.set_cursor(fig, self._cursor_xs[self.scrubber.checkpoint])
        self.panel = metrics_panel.panel_widget(fig)
        self.scrubber.observe(self._move_cursor, names="checkpoint")
        self._panel_text = metrics_panel.text_sizes(fig)
        self.compare.observe(self._size_panel_text, names="presentation")
        self._size_panel_text({"new": self.compare.presentation})

    def _draw_panel_later(self, metrics: Sequence[str] | None, pending: Any) -> None:
        """Compute the panel's analyses off the first state, then put the panel in its place.

        Runs in a background thread for a run of more than ``LIVE_TABLES_MAX_PROBES`` probes:
        the scatter and the comparison are usable at once; analyses not stored yet are computed
        first (the pending panel counts the steps done) and kept with the run.
        """
        try:
            fig = metrics_panel.explorer_figure(self.run, metrics, progress=pending.hook)
        except Exception as err:  # the panel is optional; the linked widgets still work
            pending.fail(str(err))
            return
        self._attach_panel(fig)
        with self._shown:
            if not self._displayed or metrics_panel.bokehjs_loaded():
                self.children = [self.layout_widget, self.panel]
            # else the cell that displays the explorer shows it once BokehJS is loaded

    def _show_drawn_panel(self) -> None:
        """Put the drawn panel in place of the pending one (BokehJS is loaded by now)."""
        with self._shown:
            if self.panel_figure is not None and self.children[-1] is not self.panel:
                self.children = [self.layout_widget, self.panel]

    def wait_for_panel(self, timeout: float | None = None, *, progress: bool = True) -> bool:
        """Wait until the metrics panel is drawn (its analyses computed); whether it is done.

        The panel of a large run whose analyses are not stored is computed in the background
        (the pending panel shows its progress); ``save_html`` waits for it by itself. While
        waiting, a progress bar here counts the same steps as the pending panel's.

        >>> ex.wait_for_panel()  # doctest: +SKIP
        True
        """
        thread = self._panel_thread
        if thread is None or not thread.is_alive():
            return True
        bar = self._pending.bar  # self.panel becomes the drawn panel before the thread ends
        deadline = None if timeout is None else time.monotonic() + timeout
        desc = "the metrics panel's analyses (computing in the background, kept with the run)"
        with tqdm(total=bar.max, desc=desc, unit="step", leave=False, disable=not progress) as t:
            while thread.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                thread.join(0.5 if left is None else min(0.5, left))
                t.update(bar.value - t.n)
        return not thread.is_alive()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Load BokehJS (inline, no CDN) before the panel is drawn; jupyter_bokeh needs it.

        A panel drawn in the background (a large run) waits for it: BokehJS is then loaded when
        the cell has finished, so its script does not hold up the scatter's first frame, and the
        drawn panel is shown after it.
        """
        with self._shown:
            self._displayed = True
            later = self._pending is not None and self.children[-1] is self._pending
        if later:
            metrics_panel.load_bokehjs_after_cell(self._show_drawn_panel)
        elif self.panel is not None:
            metrics_panel.load_bokehjs()
        self.compare.send_network_after_cell()
        return super()._repr_mimebundle_(**kwargs)

    @property
    def checkpoint(self) -> int:
        """Checkpoint position shown (the scrubber's)."""
        return self.scrubber.checkpoint

    @checkpoint.setter
    def checkpoint(self, value: int) -> None:
        # One command that moves all three; the front end links them too when it is present.
        self.scrubber.checkpoint = value
        self.embedding.checkpoint = self.scrubber.checkpoint
        self.compare.checkpoint = self.scrubber.checkpoint

    def _move_cursor(self, change: dict[str, Any]) -> None:
        """Follow the scrubber with the Bokeh panel's cursor (the model lives in the kernel)."""
        metrics_panel.set_cursor(self.panel_figure, self._cursor_xs[change["new"]])

    def _size_panel_text(self, change: dict[str, Any]) -> None:
        """Grow the Bokeh panel's text with the comparison's presentation size ("Aa")."""
        factor = metrics_panel.PRESENTATION_SCALE if change["new"] else 1.0
        metrics_panel.scale_text(self._panel_text, factor)

    def compare_selection(self, operand: str = "a") -> list[int]:
        """Make the selected samples operand A (or B): a group compared by its mean W_eff.

        Parameters
        ----------
        operand
            ``"a"`` (default) or ``"b"``.

        Returns
        -------
        list of int
            The operand's probe indices.

        Raises
        ------
        ValueError
            When nothing is selected, or for an operand other than "a" or "b".
        """
        if operand not in ("a", "b"):
            raise ValueError(f"operand must be 'a' or 'b', got {operand!r}")
        sel = list(self.embedding.selection)
        if not sel:
            raise ValueError("the selection is empty; select points to compare them as a group")
        setattr(self.compare, operand, sel)
        return list(getattr(self.compare, operand))

    def save_html(
        self,
        path: str | Path,
        *,
        max_samples: int = DEFAULT_PAGE_SAMPLES,
        title: str | None = None,
        panel: bool = True,
        max_mb: float = 30.0,
        precision: str = "auto",
    ) -> Path:
        """Write a single self-contained HTML page: no kernel, no network, no CDN.

        The page holds the whole scatter (every point at every checkpoint), the scrubber, and
        the comparison. For a portable network (``ll.lens.portable``) it carries every
        checkpoint's weights (compressed without loss), the probe inputs, probe means and
        neighbour tables, and computes any sample's W_eff in the browser. Other architectures
        get a bank of ``max_samples`` probes spread over the classes (plus A, B and the first two
        selected points); the page says which it uses. The metrics panel is a small SVG chart
        whose cursor follows the scrubber.

        Parameters
        ----------
        path
            File to write (``.html``).
        max_samples
            How many probe samples the comparison works for (default 48).
        title
            Page title (default: the run's dataset name).
        panel
            Include the metrics panel (default True).
        max_mb
            Size budget of the whole file in MB (default 30).
        precision : {"auto", "float32", "float16"}
            How the layer arrays are stored. ``auto`` (default) stores float16 when that moves no
            probe sample's W_eff or output by more than 2e-3 (relative; measured at every
            checkpoint when the page is written), else float32; the page says which, and the
            measured error.

        Returns
        -------
        Path
            The written file.

        Raises
        ------
        ValueError
            When ``max_samples`` < 2, ``precision`` is unknown, or the page would exceed
            ``max_mb`` (the message says what to change).

        Examples
        --------
        >>> ex.save_html("digits.html", max_samples=30)  # doctest: +SKIP
        """
        from linlens_widgets.widgets._page import write_page

        self.wait_for_panel()  # the page draws the panel's series: never compute them twice
        return write_page(
            self,
            Path(path),
            max_samples=max_samples,
            title=title,
            panel=panel,
            max_mb=max_mb,
            precision=precision,
        )
