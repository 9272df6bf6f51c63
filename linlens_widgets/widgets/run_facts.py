"""RunFacts: what the widgets show of a run, worked out once and handed to each widget.

Every widget of the explorer labels the same checkpoints, colours the same labels and names the
same classes. ``LensExplorer`` works these out once, as a :class:`RunFacts`, and hands it to the
scrubber, the scatter and the comparison; a widget used on its own works out its own from the run
(or the trajectory) it is given, in the same way.

>>> import linlens_widgets as ll
>>> facts = RunFacts.of_run(run)  # doctest: +SKIP
>>> ll.CheckpointScrubber(run, facts=facts)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from linlens_widgets.analysis.source import RunSource, source_of
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.runs.indexing import checkpoint_indices

__all__ = [
    "ACCURACY_KEYS",
    "LOSS_KEYS",
    "RunFacts",
    "check_matches",
    "checkpoint_ids",
    "class_names",
    "display",
    "find_metric",
    "frame_label",
    "frames",
    "input_shape",
    "labels_of",
    "select_checkpoints",
    "series",
]

ACCURACY_KEYS = ("test_acc", "test_accuracy", "val_acc", "val_accuracy", "accuracy", "acc")
"""Checkpoint metrics a frame label shows as its accuracy, the first one recorded."""
LOSS_KEYS = ("test_loss", "train_loss", "loss", "val_loss")
"""Checkpoint metrics a frame label shows as its loss, the first one recorded."""


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
    def of_run(
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
            check_matches(trajectory, run)
            ids = checkpoint_ids(trajectory, run)
        else:
            ids = select_checkpoints(run, checkpoints)
        labels = labels_of(run, None)
        shape = input_shape(run)
        return cls(
            run=run,
            source=source,
            checkpoint_ids=_read_only(ids),
            frames=tuple(frames(run, ids)),
            labels=_read_only(labels),
            classes=tuple(class_names(run, labels)),
            input_shape=shape,
            display=display(run, shape),
        )

    @classmethod
    def of_trajectory(cls, trajectory: Any) -> RunFacts:
        """Work out what a trajectory alone says: its frames' epochs and steps, its labels."""
        ids = checkpoint_ids(trajectory, None)
        labels = labels_of(None, trajectory)
        return cls(
            run=None,
            source=None,
            checkpoint_ids=_read_only(ids),
            frames=tuple(frames(None, ids, trajectory)),
            labels=_read_only(labels),
            classes=tuple(class_names(None, labels)),
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


def check_matches(trajectory: Any, run: Any) -> None:
    """Raise ValueError when a trajectory and a run disagree on the number of probe samples."""
    n_traj = int(np.asarray(trajectory.positions).shape[1])
    n_run = len(run.probe_labels)
    if n_traj != n_run:
        raise ValueError(
            f"the trajectory has N={n_traj} points but the run has {n_run} probe samples; "
            "embed this run (ll.embed(run)) or pass the run it was computed from"
        )
    ids = checkpoint_ids(trajectory, run)
    n_ckpt = len(run.checkpoints)
    bad = [int(i) for i in ids if not 0 <= int(i) < n_ckpt]
    if bad:
        raise ValueError(
            f"the trajectory refers to checkpoint(s) {bad[:5]} but the run has {n_ckpt} checkpoints"
        )


def checkpoint_ids(trajectory: Any | None, run: Any | None) -> np.ndarray:
    """Run checkpoint index of each frame (the trajectory's ``checkpoint_ids``, else 0..E-1)."""
    if trajectory is not None and getattr(trajectory, "checkpoint_ids", None) is not None:
        return np.asarray(trajectory.checkpoint_ids, dtype=np.int64)
    if trajectory is not None:
        return np.arange(np.asarray(trajectory.positions).shape[0])
    return np.arange(len(run.checkpoints))


def select_checkpoints(run: Any, checkpoints: Sequence[int] | None) -> np.ndarray:
    """Resolve run checkpoint indices (default: all of them; negative count from the end)."""
    ids = checkpoint_indices(
        None if checkpoints is None else list(checkpoints), len(run.checkpoints)
    )
    return np.asarray(ids, dtype=np.int64)


def find_metric(metrics: dict[str, float], keys: Sequence[str]) -> str | None:
    """First of ``keys`` present in ``metrics`` (None when none is)."""
    return next((k for k in keys if k in metrics), None)


def frame_label(checkpoint: Any) -> str:
    """Human label of a checkpoint: ``epoch 3 · step 120 · test acc 92.1%``."""
    epoch = float(checkpoint.epoch)
    parts = [f"epoch {epoch:.3g}", f"step {int(checkpoint.step)}"]
    metrics = dict(checkpoint.metrics or {})
    acc = find_metric(metrics, ACCURACY_KEYS)
    if acc is not None:
        value = _metric(metrics[acc])
        shown = f"{100 * value:.1f}%" if math.isfinite(value) and value <= 1.0 else _shown(value)
        parts.append(f"{acc.replace('_', ' ')} {shown}")
    loss = find_metric(metrics, LOSS_KEYS)
    if loss is not None:
        parts.append(f"{loss.replace('_', ' ')} {_shown(_metric(metrics[loss]))}")
    return " · ".join(parts)


def frames(run: Any | None, ids: np.ndarray, trajectory: Any | None = None) -> list[dict[str, Any]]:
    """Per-frame ``{epoch, step, label, metrics}`` for the scrubber and the labels."""
    out: list[dict[str, Any]] = []
    has_steps = trajectory is not None and bool(np.any(np.asarray(trajectory.steps) != 0))
    for pos, cid in enumerate(ids):
        if run is not None:
            ck = run.checkpoints[int(cid)]
            metrics = {k: _metric(v) for k, v in dict(ck.metrics or {}).items()}
            out.append(
                {
                    "epoch": float(ck.epoch),
                    "step": int(ck.step),
                    "label": frame_label(ck),
                    "metrics": metrics,
                }
            )
        else:
            epoch = float(trajectory.epochs[pos]) if trajectory is not None else float(pos)
            step = int(trajectory.steps[pos]) if trajectory is not None else pos
            # A trajectory recorded without steps holds zeros there: say nothing of the step.
            label = f"epoch {epoch:.3g}" + (f" · step {step}" if has_steps else "")
            out.append({"epoch": epoch, "step": step, "label": label, "metrics": {}})
    return out


def series(frame_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to two sparkline series (accuracy first, then loss) from the frames' metrics."""
    if not frame_list:
        return []
    first = frame_list[-1]["metrics"]
    out = []
    for keys in (ACCURACY_KEYS, LOSS_KEYS):
        key = find_metric(first, keys)
        if key is not None:
            values = [float(f["metrics"].get(key, float("nan"))) for f in frame_list]
            out.append({"name": key.replace("_", " "), "values": values})
    return out


def input_shape(run: Any) -> tuple[int, ...]:
    """Shape one probe input is drawn in: ``(C, H, W)`` for images, ``(D,)`` for feature vectors.

    A run's ``display.shape`` (a flat grey input of ``H * W`` values is drawn as ``(1, H, W)``);
    else its ``input_shape``; a run that names only an ``image_shape`` ``(H, W)`` has one channel.
    """
    shape = getattr(getattr(run, "display", None), "shape", None)
    if shape is None:
        shape = getattr(run, "input_shape", None)
    if shape is None:
        shape = (1, *(int(v) for v in run.image_shape))
    shape = tuple(int(v) for v in shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) not in (1, 3):
        raise ValueError(f"input_shape must be (C, H, W) or (D,), got {shape}")
    return shape


def display(run: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """How the front end shows the run's inputs (the ``_display`` trait of the contract).

    Images: ``{"mean": [C], "std": [C]}``, so that ``x * std + mean`` lies in [0, 1] (0 and 1
    for inputs already in [0, 1]). Feature vectors: ``{"feature_names": [D]}``. ``shape`` is the
    run's :func:`input_shape`.
    """
    described = getattr(run, "display", None)
    if len(shape) == 1:
        names = getattr(run, "feature_names", None) or getattr(described, "feature_names", None)
        names = [str(n) for n in names] if names else [f"x{j}" for j in range(shape[0])]
        return {"feature_names": names}
    c = shape[0]
    mean = getattr(described, "mean", None)
    std = getattr(described, "std", None)
    mean = [float(v) for v in mean] if mean else [0.0] * c  # a "unit" display stores none
    std = [float(v) for v in std] if std else [1.0] * c
    return {"mean": mean, "std": std}


def labels_of(run: Any | None, trajectory: Any | None) -> np.ndarray:
    """Probe labels (N,) as int32, from the run when given, else the trajectory."""
    src = run.probe_labels if run is not None else trajectory.labels
    src = to_numpy(src)
    return src.astype(np.int32)


def class_names(run: Any | None, labels: np.ndarray) -> list[str]:
    """Class names from the run, else ``"0".."C-1"`` from the labels."""
    if run is not None and getattr(run, "classes", None):
        return [str(c) for c in run.classes]
    n = int(labels.max(initial=-1)) + 1
    return [str(k) for k in range(n)]


def _metric(value: Any) -> float:
    """Return a recorded metric as a float; a stored ``null`` is a missing value (NaN)."""
    return float("nan") if value is None else float(value)


def _shown(value: float) -> str:
    """Return a metric for a label: 3 significant digits, "–" when missing or not finite."""
    return f"{value:.3g}" if math.isfinite(value) else "–"


def _read_only(a: np.ndarray) -> np.ndarray:
    """Return a read-only copy of ``a``: the facts are shared by every widget of an explorer."""
    out = np.array(a)
    out.setflags(write=False)
    return out
