"""Adapters from runs and trajectories to what the widgets send.

The widgets accept a ``Run`` (``linlens_widgets.runs``) and/or a ``Trajectory``
(``linlens_widgets.analysis``); these helpers read them through their documented attributes only,
validate shapes, and produce compact arrays (uint8 thumbnails, per-checkpoint predictions) and the
human labels of checkpoints.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from linlens_widgets.analysis.source import source_of
from linlens_widgets.analysis.store import folder_is_writable
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.runs.indexing import checkpoint_indices

ACCURACY_KEYS = ("test_acc", "test_accuracy", "val_acc", "val_accuracy", "accuracy", "acc")
LOSS_KEYS = ("test_loss", "train_loss", "loss", "val_loss")


def is_run(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``Run`` (has checkpoints and probe inputs)."""
    return hasattr(obj, "checkpoints") and hasattr(obj, "probe_inputs")


def is_trajectory(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``Trajectory`` (has per-checkpoint 2-D positions)."""
    return hasattr(obj, "positions") and hasattr(obj, "labels")


def stored_trajectory(run: Any) -> Any | None:
    """Return the trajectory stored with the run (``ll.embed``'s result), or None.

    A stored trajectory computed by an older embedding algorithm, or for other probe samples,
    counts as absent.
    """
    from linlens_widgets.analysis.embed import ALGORITHM_VERSION, ATTACHMENT
    from linlens_widgets.analysis.trajectory import Trajectory

    stored = analysis_entry(run, ATTACHMENT)
    if stored is None:
        return None
    arrays, meta = stored
    if dict(meta.get("params") or {}).get("version") != ALGORITHM_VERSION:
        return None
    try:
        trajectory = Trajectory.from_arrays(arrays, meta)
    except ValueError:
        return None
    return trajectory if trajectory.n_points == len(run.probe_labels) else None


@contextmanager
def _kept_in_memory(run: Any) -> Iterator[None]:
    """Detach ``run`` from its folder for the duration, so attached results stay in memory."""
    path = run.path
    run.path = None
    try:
        yield
    finally:
        run.path = path


def trajectory_of(run: Any, *, progress: bool = True) -> Any:
    """Return the run's aligned embedding: the stored one, else computed now, saying so.

    Computing prints one line saying what is computed and where it is stored, and shows
    ``ll.embed``'s progress bars. The result is stored in the run folder's analysis store for
    next time, unless the run has no folder or the folder is read-only (then it is only kept in
    memory and nothing is written).

    Parameters
    ----------
    run
        A ``Run``.
    progress
        Show the progress bars (default True).

    Returns
    -------
    Trajectory
        Positions of every probe sample at every checkpoint.
    """
    from linlens_widgets.analysis.embed import embed

    stored = stored_trajectory(run)
    if stored is not None:
        return stored
    path = getattr(run, "path", None)
    what = (
        f"Embedding {len(run.probe_labels):,} probe samples at {len(run.checkpoints)} "
        "checkpoints (aligned t-SNE)"
    )
    if path is None:
        print(
            f"{what}; the run has no folder, so it is kept in memory only (save the run to keep it)"
        )
        return embed(run, progress=progress)
    path = Path(path)
    if not folder_is_writable(path):
        print(f"{what}; {path} is read-only, so it is kept in memory only")
        with _kept_in_memory(run):
            return embed(run, progress=progress)
    print(f"{what}; storing it in {path / 'analysis'}{os.sep} for next time")
    return embed(run, progress=progress)


def check_positions(positions: Any) -> np.ndarray:
    """Validate an (E, N, 2) positions array and return it as float32.

    Raises
    ------
    ValueError
        Naming the shape when it is not (E, N, 2) with E, N >= 1, or values are not finite.
    """
    p = np.asarray(positions, dtype=np.float32)
    if p.ndim != 3 or p.shape[2] != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"positions must have shape (checkpoints, points, 2), got {p.shape}")
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


def thumbnails(run: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Probe inputs as the user sees them: a uint8 atlas ``(N, H, W, C)``; None for features.

    ``run.probe_images()`` when the run has it (un-normalised), else the inputs scaled from
    [0, 1] (clipped). ``shape`` is the run's :func:`input_shape`.
    """
    if len(shape) == 1:
        return None
    images = getattr(run, "probe_images", None)
    if images is not None:
        out = np.asarray(images())
        return np.ascontiguousarray(out if out.ndim == 4 else out[..., None], dtype=np.uint8)
    x = run.probe_inputs
    x = to_numpy(x)
    n = x.shape[0]
    c, h, w = shape
    if x.reshape(n, -1).shape[1] != c * h * w:
        raise ValueError(
            f"probe inputs have {x.reshape(n, -1).shape[1]} features, not input_shape {shape}"
        )
    img = np.clip(x.reshape(n, c, h, w).astype(np.float32), 0.0, 1.0)
    return np.ascontiguousarray(np.round(img * 255).astype(np.uint8).transpose(0, 2, 3, 1))


def effective_weights(run: Any, checkpoint: int) -> Any:
    """Return the probe samples' effective weights at a checkpoint position (cached per run)."""
    return source_of(run).effective_weights(checkpoint)


def _streams(engine: Any) -> bool:
    """Whether ``engine`` computes W_eff in chunks (a run's ``RunWeights``; stand-ins hold it)."""
    from linlens_widgets.analysis.weights import RunWeights

    return isinstance(engine, RunWeights)


def weight_chunks(run: Any, checkpoint: int) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, chunk)`` of the probe samples' W_eff at a checkpoint, in row chunks.

    A run's chunks hold a bounded number of bytes (``RunWeights.chunk_bytes``), so a whole
    checkpoint's W_eff is never held; a stand-in yields what it holds in one piece.
    """
    engine = source_of(run)
    if _streams(engine):
        yield from engine.iter_effective_weights(checkpoint)
    else:
        yield 0, engine.effective_weights(checkpoint)


def sample_weights(run: Any, checkpoint: int, samples: Any) -> Any:
    """Return the effective weights of the probe samples ``samples`` (indices) at a checkpoint."""
    engine = source_of(run)
    if _streams(engine):
        return engine.sample_weights(checkpoint, samples)
    index = torch.as_tensor(np.asarray(samples, dtype=np.int64).reshape(-1))
    ew = engine.effective_weights(checkpoint)
    bias = getattr(ew, "bias", None)
    return SimpleNamespace(
        weight=ew.weight[index],
        bias=None if bias is None else bias[index],
        output=ew.output[index],
    )


def group_means(run: Any, checkpoint: int, groups: Any, n_groups: int) -> np.ndarray:
    """Mean W_eff ``(n_groups, C, *input)`` float64 of groups of probe samples (``-1``: none)."""
    engine = source_of(run)
    if _streams(engine):
        return engine.group_means(checkpoint, groups, n_groups).numpy()
    ew = engine.effective_weights(checkpoint)
    w = getattr(ew, "weight", ew)
    w = to_numpy(w)
    g = np.asarray(groups, dtype=np.int64).reshape(-1)
    with np.errstate(invalid="ignore"):
        return np.stack(
            [
                w[g == k].astype(np.float64).mean(axis=0)
                if np.any(g == k)
                else np.full(w.shape[1:], np.nan)
                for k in range(n_groups)
            ]
        )


def probe_mean(run: Any, checkpoint: int) -> np.ndarray:
    """Mean W_eff over all probe samples at a checkpoint, ``(C, *input)`` float64."""
    engine = source_of(run)
    if _streams(engine):
        return engine.probe_mean(checkpoint).numpy()
    n = len(run.probe_labels)
    return group_means(run, checkpoint, np.zeros(n, dtype=np.int64), 1)[0]


def analysis_entry(run: Any, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Return a named entry of the run's analysis store, or None (stand-ins have no store)."""
    from linlens_widgets.analysis.store import AnalysisStore
    from linlens_widgets.runs.store import Run

    return AnalysisStore(run).get(name) if isinstance(run, Run) else None


def store_analysis(
    run: Any, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> bool:
    """Keep an entry in the run's analysis store (a `Run` only); whether it reached the disk.

    A read-only run folder (permission bits, see `folder_is_writable`) is left untouched: the
    entry is kept in memory only.
    """
    from linlens_widgets.analysis.store import AnalysisStore
    from linlens_widgets.runs.store import Run

    if not isinstance(run, Run):
        return False
    if run.path is not None and not folder_is_writable(Path(run.path)):
        with _kept_in_memory(run):
            AnalysisStore(run).put(name, arrays, meta)
        return False
    return AnalysisStore(run).put(name, arrays, meta)


def predictions(run: Any, ids: np.ndarray) -> np.ndarray:
    """Predicted class of every probe sample at each frame's checkpoint, (E, N) uint8/int32."""
    engine = source_of(run)
    rows = []
    for cid in ids:
        p = engine.predictions(int(cid))
        rows.append(to_numpy(p))
    out = np.stack(rows)
    return out.astype(np.uint8) if out.max(initial=0) < 256 and out.min(initial=0) >= 0 else out


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
