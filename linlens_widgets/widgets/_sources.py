"""Adapters from runs and trajectories to what the widgets send.

The widgets accept a ``Run`` (``linlens_widgets.runs``) and/or a ``Trajectory``
(``linlens_widgets.analysis``); these helpers read them through their documented attributes only,
validate shapes, and produce compact arrays (uint8 thumbnails, per-checkpoint predictions) and the
human labels of checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ACCURACY_KEYS = ("test_acc", "test_accuracy", "val_acc", "val_accuracy", "accuracy", "acc")
LOSS_KEYS = ("test_loss", "train_loss", "loss", "val_loss")


def is_run(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``Run`` (has checkpoints and probe inputs)."""
    return hasattr(obj, "checkpoints") and hasattr(obj, "probe_inputs")


def is_trajectory(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``Trajectory`` (has per-checkpoint 2-D positions)."""
    return hasattr(obj, "positions") and hasattr(obj, "labels")


def trajectory_of(run: Any) -> Any:
    """Return the run's aligned embedding, ``ll.embed(run)`` (cached in the run)."""
    from linlens_widgets.analysis.embed import embed

    return embed(run)


def check_positions(positions: Any) -> np.ndarray:
    """Validate an (E, N, 2) positions array and return it as float32.

    Raises:
        ValueError: naming the shape when it is not (E, N, 2) with E, N >= 1, or values are not
            finite.
    """
    p = np.asarray(positions, dtype=np.float32)
    if p.ndim != 3 or p.shape[2] != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"positions must have shape (epochs, points, 2), got {p.shape}")
    if not np.isfinite(p).all():
        bad = int((~np.isfinite(p)).any(axis=(0, 2)).sum())
        raise ValueError(f"positions hold non-finite values for {bad} point(s)")
    return p


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
    """Validate a list of run checkpoint indices (default: all of them)."""
    n = len(run.checkpoints)
    if n == 0:
        raise ValueError("the run has no checkpoints")
    if checkpoints is None:
        return np.arange(n)
    ids = np.asarray(list(checkpoints), dtype=np.int64)
    if ids.size == 0:
        raise ValueError("checkpoints is empty; pass at least one checkpoint index")
    bad = [int(i) for i in ids if not 0 <= i < n]
    if bad:
        raise ValueError(f"checkpoint index {bad[0]} is not in the run (it has {n} checkpoints)")
    return ids


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
        value = float(metrics[acc])
        shown = f"{100 * value:.1f}%" if value <= 1.0 else f"{value:.3g}"
        parts.append(f"{acc.replace('_', ' ')} {shown}")
    loss = find_metric(metrics, LOSS_KEYS)
    if loss is not None:
        parts.append(f"{loss.replace('_', ' ')} {float(metrics[loss]):.3g}")
    return " · ".join(parts)


def frames(run: Any | None, ids: np.ndarray, trajectory: Any | None = None) -> list[dict[str, Any]]:
    """Per-frame ``{epoch, step, label, metrics}`` for the scrubber and the labels."""
    out: list[dict[str, Any]] = []
    for pos, cid in enumerate(ids):
        if run is not None:
            ck = run.checkpoints[int(cid)]
            metrics = {k: float(v) for k, v in dict(ck.metrics or {}).items()}
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
            out.append(
                {"epoch": epoch, "step": step, "label": f"epoch {epoch:.3g} · step {step}"}
                | {"metrics": {}}
            )
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


def thumbnails(run: Any) -> np.ndarray:
    """Probe inputs as a uint8 atlas (N, H, W), values scaled from [0, 1] (clipped)."""
    x = run.probe_inputs
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    h, w = (int(v) for v in run.image_shape)
    n = x.shape[0]
    if x.reshape(n, -1).shape[1] != h * w:
        raise ValueError(
            f"probe inputs have {x.reshape(n, -1).shape[1]} features, not image_shape {h}x{w}"
        )
    img = np.clip(x.reshape(n, h, w).astype(np.float32), 0.0, 1.0)
    return np.round(img * 255).astype(np.uint8)


def predictions(run: Any, ids: np.ndarray) -> np.ndarray:
    """Predicted class of every probe sample at each frame's checkpoint, (E, N) uint8/int32."""
    from linlens_widgets.analysis.weights import run_weights
    from linlens_widgets.runs.store import Run

    engine = run_weights(run) if isinstance(run, Run) else run  # stand-ins compute their own
    rows = []
    for cid in ids:
        p = engine.predictions(int(cid))
        rows.append(p.detach().cpu().numpy() if hasattr(p, "detach") else np.asarray(p))
    out = np.stack(rows)
    return out.astype(np.uint8) if out.max(initial=0) < 256 and out.min(initial=0) >= 0 else out


def labels_of(run: Any | None, trajectory: Any | None) -> np.ndarray:
    """Probe labels (N,) as int32, from the run when given, else the trajectory."""
    src = run.probe_labels if run is not None else trajectory.labels
    src = src.detach().cpu().numpy() if hasattr(src, "detach") else np.asarray(src)
    return src.astype(np.int32)


def class_names(run: Any | None, labels: np.ndarray) -> list[str]:
    """Class names from the run, else ``"0".."C-1"`` from the labels."""
    if run is not None and getattr(run, "classes", None):
        return [str(c) for c in run.classes]
    n = int(labels.max(initial=-1)) + 1
    return [str(k) for k in range(n)]
