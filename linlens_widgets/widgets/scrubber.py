"""CheckpointScrubber: a slider over a run's checkpoints with play/pause, steps and a sparkline.

Its ``checkpoint`` trait (the position in the run's checkpoint list) links to the other widgets
with ``traitlets.link`` (through the kernel) or ``ipywidgets.jslink`` (in the browser only, so
scrubbing stays instant): ``ipywidgets.jslink((scrubber, "checkpoint"), (view, "checkpoint"))``.
``LensExplorer`` links its three widgets in the browser itself.

>>> import linlens_widgets as ll
>>> scrub = ll.CheckpointScrubber(run)  # doctest: +SKIP
>>> traitlets.link((scrub, "checkpoint"), (view, "checkpoint"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from linlens_widgets.analysis.source import is_source
from linlens_widgets.analysis.trajectory import TrajectoryLike
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets.contract import SPEEDS
from linlens_widgets.widgets.run_facts import RunFacts, series
from linlens_widgets.widgets.validate import (
    checkpoint_position,
    json_safe,
    set_state_or_keep,
)

__all__ = ["SPEEDS", "CheckpointScrubber"]


class CheckpointScrubber(anywidget.AnyWidget):
    """Slider over checkpoints; labels show epoch, step and test accuracy.

    Parameters
    ----------
    run
        A ``Run`` (or a ``Trajectory``, whose epochs/steps label the frames).
    checkpoint
        Checkpoint position to start at (default -1, the last).
    checkpoints
        Run checkpoint indices to scrub over (default: all; the explorer passes the
        trajectory's ``checkpoint_ids``).
    speed
        Playback speed factor, one of 0.5, 1, 2, 4, 8 (default 1 = two checkpoints a second).
    loop
        Restart from the first checkpoint when playback reaches the end (default False).
    facts
        The run's facts, worked out once by ``LensExplorer`` for all its widgets (default:
        worked out here from ``run`` and ``checkpoints``).

    Raises
    ------
    ValueError
        For a checkpoint that is not a position of the run, naming it.

    Examples
    --------
    >>> CheckpointScrubber(run, checkpoint=0, speed=2)  # doctest: +SKIP
    """

    _esm = bundle("scrubber.js")

    checkpoint = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    speed = traitlets.Float(1.0).tag(sync=True)
    loop = traitlets.Bool(False).tag(sync=True)
    _frames = traitlets.List(traitlets.Dict()).tag(sync=True)
    _series = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        run: Any,
        *,
        checkpoint: int = -1,
        checkpoints: Sequence[int] | None = None,
        speed: float = 1.0,
        loop: bool = False,
        facts: RunFacts | None = None,
        **kwargs: Any,
    ) -> None:
        facts = facts or _facts(run, checkpoints, type(self).__name__)
        frames = list(facts.frames)
        self.checkpoint_ids = facts.checkpoint_ids
        self._n = len(frames)
        super().__init__(
            _frames=frames,
            _series=series(frames),
            checkpoint=checkpoint_position(checkpoint, self._n),
            speed=speed,
            loop=loop,
            **kwargs,
        )

    @traitlets.validate("checkpoint")
    def _valid_checkpoint(self, proposal: dict[str, Any]) -> int:
        return checkpoint_position(proposal["value"], self._n)

    @traitlets.validate("speed")
    def _valid_speed(self, proposal: dict[str, Any]) -> float:
        v = float(proposal["value"])
        if v not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, got {proposal['value']!r}")
        return v

    @property
    def n_checkpoints(self) -> int:
        """Number of checkpoints the slider covers."""
        return self._n

    @property
    def frame(self) -> dict[str, Any]:
        """The current checkpoint's ``{epoch, step, label, metrics}`` (epoch: training time)."""
        return dict(self._frames[self.checkpoint])

    def play(self) -> None:
        """Start playback in the browser (from the start when at the last checkpoint)."""
        self.playing = True

    def pause(self) -> None:
        """Stop playback."""
        self.playing = False

    # ------------------------------------------------------------------ boundary validation
    @traitlets.validate("_frames", "_series")
    def _valid_numbers(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        # strict JSON for both hosts: a NaN metric (or one recorded at only some checkpoints)
        # is sent as null, which the sparkline skips and the label shows as "–"
        return json_safe(proposal["value"])

    # ------------------------------------------------------------------ browser boundary
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply an update from the browser; a bad value is refused, logged and sent back."""
        set_state_or_keep(self, super().set_state, sync_data)


def _facts(run: Any, checkpoints: Sequence[int] | None, name: str) -> RunFacts:
    """Work out what a scrubber shows: a run's checkpoints, or a trajectory's frames."""
    if is_source(run):
        return RunFacts.of_run(run, checkpoints=checkpoints)
    if isinstance(run, TrajectoryLike):
        return RunFacts.of_trajectory(run)
    raise TypeError(f"{name} needs a Run or a Trajectory, got {type(run).__name__}")
