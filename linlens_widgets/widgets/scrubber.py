"""EpochScrubber: a slider over a run's checkpoints with play/pause, steps and a sparkline.

Its ``epoch`` trait (the checkpoint position) links to the other widgets with
``traitlets.link`` (through the kernel) or ``ipywidgets.jslink`` (in the browser only, so
scrubbing stays instant): ``ipywidgets.jslink((scrubber, "epoch"), (view, "epoch"))``.

>>> import linlens_widgets as ll
>>> scrub = ll.EpochScrubber(run)  # doctest: +SKIP
>>> traitlets.link((scrub, "epoch"), (view, "epoch"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets.embedding import _position

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)


class EpochScrubber(anywidget.AnyWidget):
    """Slider over checkpoints; labels show epoch, step and test accuracy.

    Args:
        run: a ``Run`` (or a ``Trajectory``, whose epochs/steps label the frames).
        epoch: checkpoint position to start at (default -1, the last).
        checkpoints: run checkpoint indices to scrub over (default: all; the explorer passes the
            trajectory's ``checkpoint_ids``).
        speed: playback speed factor, one of 0.5, 1, 2, 4, 8 (default 1 = two checkpoints a
            second).
        loop: restart from the first checkpoint when playback reaches the end (default False).

    Raises:
        ValueError: for an epoch that is not a checkpoint position, naming it.

    >>> EpochScrubber(run, epoch=0, speed=2)  # doctest: +SKIP
    """

    _esm = bundle("scrubber.js")

    epoch = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    speed = traitlets.Float(1.0).tag(sync=True)
    loop = traitlets.Bool(False).tag(sync=True)
    _frames = traitlets.List(traitlets.Dict()).tag(sync=True)
    _series = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        run: Any,
        *,
        epoch: int = -1,
        checkpoints: Sequence[int] | None = None,
        speed: float = 1.0,
        loop: bool = False,
        **kwargs: Any,
    ) -> None:
        if _sources.is_run(run):
            ids = _sources.select_checkpoints(run, checkpoints)
            frames = _sources.frames(run, ids)
        elif _sources.is_trajectory(run):
            ids = _sources.checkpoint_ids(run, None)
            frames = _sources.frames(None, ids, run)
        else:
            raise TypeError(f"EpochScrubber needs a Run or a Trajectory, got {type(run).__name__}")
        self.checkpoint_ids = ids
        self._n = len(frames)
        super().__init__(
            _frames=frames,
            _series=_sources.series(frames),
            epoch=_position(epoch, self._n),
            speed=speed,
            loop=loop,
            **kwargs,
        )

    @traitlets.validate("epoch")
    def _valid_epoch(self, proposal: dict[str, Any]) -> int:
        return _position(proposal["value"], self._n, allow_negative=False)

    @traitlets.validate("speed")
    def _valid_speed(self, proposal: dict[str, Any]) -> float:
        v = float(proposal["value"])
        if v not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {proposal['value']!r}")
        return v

    @property
    def n_epochs(self) -> int:
        """Number of checkpoints the slider covers."""
        return self._n

    @property
    def frame(self) -> dict[str, Any]:
        """The current checkpoint's ``{epoch, step, label, metrics}``."""
        return dict(self._frames[self.epoch])

    def play(self) -> None:
        """Start playback in the browser (from the start when at the last checkpoint)."""
        self.playing = True

    def pause(self) -> None:
        """Stop playback."""
        self.playing = False
