"""RunFacts: what the widgets show of a run, worked out once and handed to each widget.

Every widget of the explorer labels the same checkpoints, colours the same labels and names the
same classes. ``LensExplorer`` works these out once, as a :class:`RunFacts`, and hands it to the
scrubber, the scatter and the comparison; a widget used on its own works out its own from the run
(or the trajectory) it is given, in the same way.

>>> import linlens_widgets as ll
>>> facts = RunFacts.of(run)  # doctest: +SKIP
>>> ll.CheckpointScrubber(run, facts=facts)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from linlens_widgets.analysis.source import RunSource, source_of
from linlens_widgets.widgets import _sources

__all__ = ["RunFacts"]


@dataclass(frozen=True)
class RunFacts:
    """The facts of one run (or of a trajectory alone) that the widgets send, computed once.

    Attributes
    ----------
    run
        The run as it was given (a ``Run`` or a ``RunSource``); None for a trajectory alone.
    source
        The run read as a :class:`~linlens_widgets.analysis.source.RunSource` (its weights, its
        analysis store); None for a trajectory alone.
    checkpoint_ids
        ``(E,)`` run checkpoint index of each frame the widgets show.
    frames
        Per frame ``{epoch, step, label, metrics}`` (the scrubber's labels and sparklines).
    labels
        ``(N,)`` int32 probe labels.
    classes
        Class names (``"0"`` … when the run names none).
    input_shape
        How one input is drawn: ``(C, H, W)`` or ``(D,)``; None for a trajectory alone.
    display
        The ``_display`` trait of the contract (``{mean, std}`` or ``{feature_names}``); None for
        a trajectory alone.
    """

    run: Any
    source: RunSource | None
    checkpoint_ids: np.ndarray
    frames: tuple[dict[str, Any], ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    input_shape: tuple[int, ...] | None
    display: dict[str, Any] | None

    @classmethod
    def of(
        cls,
        run: Any,
        *,
        trajectory: Any | None = None,
        checkpoints: Sequence[int] | None = None,
    ) -> RunFacts:
        """Work out the facts of ``run``, over its checkpoints or its trajectory's frames.

        Parameters
        ----------
        run
            A ``Run`` or a ``RunSource``.
        trajectory
            Its embedding: the frames are then the trajectory's checkpoints, and the trajectory
            must match the run.
        checkpoints
            Run checkpoint indices to show when there is no trajectory (default: all; negative
            count from the end).

        Raises
        ------
        TypeError
            When ``run`` is neither a ``Run`` nor a ``RunSource``, naming its type.
        ValueError
            When the trajectory does not match the run, or a checkpoint is not the run's.
        """
        source = source_of(run)
        if trajectory is not None:
            _sources.check_matches(trajectory, run)
            ids = _sources.checkpoint_ids(trajectory, run)
        else:
            ids = _sources.select_checkpoints(run, checkpoints)
        labels = _sources.labels_of(run, None)
        shape = _sources.input_shape(run)
        return cls(
            run=run,
            source=source,
            checkpoint_ids=_read_only(ids),
            frames=tuple(_sources.frames(run, ids)),
            labels=_read_only(labels),
            classes=tuple(_sources.class_names(run, labels)),
            input_shape=shape,
            display=_sources.display(run, shape),
        )

    @classmethod
    def of_trajectory(cls, trajectory: Any) -> RunFacts:
        """Work out what a trajectory alone says: its frames' epochs and steps, its labels."""
        ids = _sources.checkpoint_ids(trajectory, None)
        labels = _sources.labels_of(None, trajectory)
        return cls(
            run=None,
            source=None,
            checkpoint_ids=_read_only(ids),
            frames=tuple(_sources.frames(None, ids, trajectory)),
            labels=_read_only(labels),
            classes=tuple(_sources.class_names(None, labels)),
            input_shape=None,
            display=None,
        )

    @property
    def frame_labels(self) -> list[str]:
        """The human label of each frame (``epoch 3 · step 120 · test acc 92.1%``)."""
        return [frame["label"] for frame in self.frames]

    @property
    def n_samples(self) -> int:
        """Number of probe samples."""
        return len(self.labels)


def _read_only(a: np.ndarray) -> np.ndarray:
    """Return a read-only copy of ``a``: the facts are shared by every widget of an explorer."""
    out = np.array(a)
    out.setflags(write=False)
    return out
