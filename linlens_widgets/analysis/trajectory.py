"""``Trajectory``: one 2-D layout of the probe samples per checkpoint, with its quality figures.

The result of :func:`linlens_widgets.embed`. Positions of all frames share one scale and fit in
``[-1, 1]``, so a point that moves on screen moved in the layout. A trajectory round-trips
through plain arrays plus JSON metadata (:meth:`Trajectory.to_arrays` /
:meth:`Trajectory.from_arrays`), which is how it is kept in a run's analysis store (entry
``"trajectory"``, see :class:`~linlens_widgets.analysis.store.AnalysisStore`) and reopened
without recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from linlens_widgets.analysis._quality import mean_displacement

__all__ = ["ALGORITHM_VERSION", "ATTACHMENT", "Trajectory", "TrajectoryLike", "normalise_positions"]

ALGORITHM_VERSION = 3
"""Version of ``ll.embed``'s algorithm, bumped whenever it changes, so that a stored trajectory
computed by an older one is recomputed. Kept here, with the stored form, so that reading a stored
trajectory does not import the t-SNE libraries."""
ATTACHMENT = "trajectory"
"""Name of the run's analysis-store entry that holds its trajectory (``ll.embed``'s result)."""

_ARRAY_FIELDS = ("positions", "epochs", "steps", "checkpoint_ids", "labels", "kl", "knn_recall")


@runtime_checkable
class TrajectoryLike(Protocol):
    """What the widgets read of a trajectory: a :class:`Trajectory`, or any record alike.

    Attributes
    ----------
    positions : array (E, N, 2)
        One 2-D layout of the probe samples per frame.
    labels : array (N,)
        The probe samples' labels.
    """

    positions: Any
    labels: Any


def normalise_positions(positions: np.ndarray) -> np.ndarray:
    """Centre all frames together and scale them by one factor so that every point is in [-1, 1].

    One translation and one scale for every frame, so relative motion between frames is kept.

    Parameters
    ----------
    positions : np.ndarray
        ``(E, N, 2)`` layouts.

    Returns
    -------
    np.ndarray
        ``(E, N, 2)`` float32 with ``max |x| == 1`` over all frames (unless all points coincide).

    Examples
    --------
    >>> p = normalise_positions(np.array([[[0.0, 0.0], [4.0, 2.0]]]))
    >>> float(abs(p).max())
    1.0
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 2:
        raise ValueError(f"positions must have shape (E, N, 2), got {p.shape}")
    lo, hi = p.reshape(-1, 2).min(axis=0), p.reshape(-1, 2).max(axis=0)
    p = p - (lo + hi) / 2.0
    half = float(np.abs(p).max())
    if half > 0:
        p = p / half
    return np.clip(p, -1.0, 1.0).astype(np.float32)


@dataclass
class Trajectory:
    """Per-checkpoint 2-D layouts of the probe samples' effective weights.

    Attributes
    ----------
    positions : np.ndarray
        ``(E, N, 2)`` float32, all frames in [-1, 1] on one common scale.
    epochs : np.ndarray
        ``(E,)`` float epoch of each frame's checkpoint.
    steps : np.ndarray
        ``(E,)`` int optimizer step of each frame's checkpoint.
    checkpoint_ids : np.ndarray
        ``(E,)`` int index of each frame's checkpoint in ``run.checkpoints``.
    labels : np.ndarray
        ``(N,)`` int class label of each probe sample.
    kl : np.ndarray
        ``(E,)`` KL divergence of each frame's layout for its own t-SNE affinities (NaN for
        methods without affinities, e.g. PCA).
    knn_recall : np.ndarray
        ``(E,)`` mean fraction of each sample's 10 nearest neighbours in the high-dimensional
        effective weights that are also among its 10 nearest neighbours in the layout.
    method : str
        ``"tsne"`` or ``"pca"``.
    params : dict
        The parameters it was computed with (used to decide whether a cached one is reusable).

    Examples
    --------
    >>> t = Trajectory(np.zeros((2, 3, 2), np.float32), labels=np.array([0, 1, 1]))
    >>> t.n_frames, t.n_points
    (2, 3)
    """

    positions: np.ndarray
    epochs: np.ndarray | None = None
    steps: np.ndarray | None = None
    checkpoint_ids: np.ndarray | None = None
    labels: np.ndarray | None = None
    kl: np.ndarray | None = None
    knn_recall: np.ndarray | None = None
    method: str = "tsne"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions, dtype=np.float32)
        if self.positions.ndim != 3 or self.positions.shape[-1] != 2:
            raise ValueError(f"positions must have shape (E, N, 2), got {self.positions.shape}")
        e, n = self.positions.shape[:2]
        self.epochs = self._vector(self.epochs, e, np.float64, np.arange(e, dtype=np.float64))
        self.steps = self._vector(self.steps, e, np.int64, np.zeros(e, dtype=np.int64))
        self.checkpoint_ids = self._vector(self.checkpoint_ids, e, np.int64, np.arange(e))
        self.labels = self._vector(self.labels, n, np.int64, np.zeros(n, dtype=np.int64))
        self.kl = self._vector(self.kl, e, np.float64, np.full(e, np.nan))
        self.knn_recall = self._vector(self.knn_recall, e, np.float64, np.full(e, np.nan))

    @staticmethod
    def _vector(value: Any, length: int, dtype: type, default: np.ndarray) -> np.ndarray:
        out = default if value is None else np.asarray(value, dtype=dtype).reshape(-1)
        if out.shape != (length,):
            raise ValueError(f"expected {length} values, got shape {out.shape}")
        return out.astype(dtype)

    @property
    def n_frames(self) -> int:
        """Number of frames ``E`` (checkpoints)."""
        return int(self.positions.shape[0])

    @property
    def n_points(self) -> int:
        """Number of probe samples ``N``."""
        return int(self.positions.shape[1])

    def __len__(self) -> int:
        return self.n_frames

    def frame(self, i: int) -> np.ndarray:
        """Return the ``(N, 2)`` layout of frame ``i`` (frame position, not checkpoint index)."""
        return self.positions[i]

    def steadiness(self) -> float:
        """Mean Procrustes-aligned displacement between consecutive frames (lower is steadier).

        Each frame is centred and scaled to unit RMS radius and the best rotation/reflection is
        removed first, so only changes in neighbourhood geometry count.
        """
        return mean_displacement(self.positions)

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Return arrays and JSON metadata for ``AnalysisStore(run).put("trajectory", ...)``."""
        arrays = {name: np.asarray(getattr(self, name)) for name in _ARRAY_FIELDS}
        meta = {"method": self.method, "params": dict(self.params)}
        meta.update({k: v for k, v in self.params.items() if k in ("perplexity", "coupling")})
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Trajectory:
        """Rebuild a trajectory from :meth:`to_arrays` output (e.g. an analysis store entry).

        Raises
        ------
        ValueError
            If ``positions`` is missing or a field has the wrong shape.
        """
        if "positions" not in arrays:
            raise ValueError("trajectory arrays lack 'positions'")
        fields = {name: arrays.get(name) for name in _ARRAY_FIELDS}
        return cls(
            **fields, method=str(meta.get("method", "tsne")), params=dict(meta.get("params", {}))
        )

    def __repr__(self) -> str:
        recall = np.nanmean(self.knn_recall) if np.isfinite(self.knn_recall).any() else np.nan
        return (
            f"Trajectory(method={self.method!r}, frames={self.n_frames}, points={self.n_points}, "
            f"mean 10-NN recall={recall:.3f})"
        )
