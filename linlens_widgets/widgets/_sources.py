"""What the widgets read of a run beyond its facts: its embedding, weights and analysis store.

The widgets accept a ``Run`` (``linlens_widgets.runs``) or any ``RunSource``
(``linlens_widgets.analysis.source``) and/or a ``Trajectory`` (``linlens_widgets.analysis``);
these helpers find or compute the trajectory, validate positions, and produce compact arrays
(uint8 thumbnails, per-checkpoint predictions, W_eff of a few samples or of groups). What every
widget labels and names (checkpoints, classes, the input's shape) is in ``widgets.run_facts``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from linlens_widgets.analysis.source import ChunkedSource, source_of
from linlens_widgets.analysis.store import folder_is_writable
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.runs.analysis_files import ANALYSIS_DIR


def stored_trajectory(run: Any) -> Any | None:
    """Return the trajectory stored with the run (``ll.embed``'s result), or None.

    A stored trajectory computed by an older embedding algorithm, or for other probe samples,
    counts as absent.
    """
    from linlens_widgets.analysis.trajectory import ALGORITHM_VERSION, ATTACHMENT, Trajectory

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
    stored = stored_trajectory(run)
    if stored is not None:
        return stored
    from linlens_widgets.analysis.embed import embed  # t-SNE's libraries, only when embedding

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


def weight_chunks(run: Any, checkpoint: int) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, chunk)`` of the probe samples' W_eff at a checkpoint, in row chunks.

    A run's chunks hold a bounded number of bytes (``RunWeights.chunk_bytes``), so a whole
    checkpoint's W_eff is never held; a stand-in yields what it holds in one piece.
    """
    engine = source_of(run)
    if isinstance(engine, ChunkedSource):
        yield from engine.iter_effective_weights(checkpoint)
    else:
        yield 0, engine.effective_weights(checkpoint)


def sample_weights(run: Any, checkpoint: int, samples: Any) -> Any:
    """Return the effective weights of the probe samples ``samples`` (indices) at a checkpoint."""
    engine = source_of(run)
    if isinstance(engine, ChunkedSource):
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
    if isinstance(engine, ChunkedSource):
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
    if isinstance(engine, ChunkedSource):
        return engine.probe_mean(checkpoint).numpy()
    n = len(run.probe_labels)
    return group_means(run, checkpoint, np.zeros(n, dtype=np.int64), 1)[0]


def analysis_entry(run: Any, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Return a named entry of the run's analysis store, or None (a source may keep no store)."""
    store = source_of(run).store
    return None if store is None else store.get(name)


def store_analysis(
    run: Any, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> bool:
    """Keep an entry in the run's analysis store, if it keeps one; whether it reached the disk.

    The store writes only into a writable run folder (permission bits, see
    `folder_is_writable`); a read-only one is left untouched and the entry is kept in memory
    only. A source without a store keeps nothing.
    """
    store = source_of(run).store
    return False if store is None else store.put(name, arrays, meta)


PREDICTIONS = "predictions"
"""Analysis-store entry of the probe samples' predicted classes (``analysis/predictions``)."""


def predictions(run: Any, ids: np.ndarray) -> np.ndarray:
    """Predicted class of every probe sample at each frame's checkpoint, (E, N) uint8/int32.

    Read from the run's analysis store when it holds them for these checkpoints; else computed
    (a forward pass of every probe sample per checkpoint: seconds at 10,000 probes and 20
    checkpoints) and stored there, so the next opening of the run reads them instead.
    """
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    stored = stored_predictions(run, ids)
    if stored is not None:
        return stored
    engine = source_of(run)
    out = np.stack([to_numpy(engine.predictions(int(cid))) for cid in ids])
    out = out.astype(np.uint8) if out.max(initial=0) < 256 and out.min(initial=0) >= 0 else out
    store_analysis(run, PREDICTIONS, {PREDICTIONS: out}, {"checkpoint_ids": ids.tolist()})
    return out


def stored_predictions(run: Any, ids: np.ndarray) -> np.ndarray | None:
    """Return the stored predictions at checkpoints ``ids``; None when none are stored for them.

    The store returns an entry only while it matches the run's weights and probe (its digests);
    one that does yet holds no valid predictions (another shape, classes out of range) is
    refused with a warning that names its file, and the caller computes them afresh.
    """
    entry = analysis_entry(run, PREDICTIONS)
    if entry is None:
        return None
    arrays, meta = entry
    stored_ids = meta.get("checkpoint_ids")
    if not isinstance(stored_ids, list) or not all(isinstance(i, int) for i in stored_ids):
        return _refused(run, "its metadata lists no checkpoint ids")
    rows = {cid: k for k, cid in enumerate(stored_ids)}
    if any(int(cid) not in rows for cid in ids):
        return None  # stored for other checkpoints (another trajectory's frames)
    problem = _predictions_problem(arrays.get(PREDICTIONS), len(stored_ids), run)
    if problem is not None:
        return _refused(run, problem)
    return np.ascontiguousarray(arrays[PREDICTIONS][[rows[int(cid)] for cid in ids]])


def _predictions_problem(values: np.ndarray | None, n_ids: int, run: Any) -> str | None:
    """Say what is wrong with stored predictions for ``n_ids`` checkpoints; None when valid."""
    n = len(run.probe_labels)
    if values is None:
        return f"it holds no '{PREDICTIONS}' array"
    if values.shape != (n_ids, n):
        return (
            f"its predictions have shape {values.shape}, not ({n_ids}, {n}) "
            "(checkpoints, probe samples)"
        )
    if values.dtype.kind not in "iu":
        return f"its predictions are {values.dtype}, not integer classes"
    n_classes = len(getattr(run, "classes", ()) or ())
    low, high = int(values.min(initial=0)), int(values.max(initial=0))
    if low < 0 or (n_classes and high >= n_classes):
        return f"its predictions hold class {low if low < 0 else high}, outside 0..{n_classes - 1}"
    return None


def _refused(run: Any, problem: str) -> None:
    """Warn that the stored predictions are not used (naming the file and why); return None."""
    store = source_of(run).store
    path = None if store is None else getattr(store.run, "path", None)
    where = (
        str(Path(path) / ANALYSIS_DIR / f"{PREDICTIONS}.safetensors")
        if path is not None
        else f"the run's analysis entry '{PREDICTIONS}'"
    )
    warnings.warn(
        f"{where} is not used: {problem}; the predictions are computed again and stored anew",
        stacklevel=3,
    )
    return None
