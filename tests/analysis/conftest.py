"""Fixtures for the analysis tests: constructed feature frames and one small trained digits run."""

from __future__ import annotations

import numpy as np
import pytest


def drifting_frames(
    n_frames: int = 4, per_class: int = 30, dims: int = 10, drift: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters that drift slowly across frames, each frame in its own rotated
    coordinate system (like the engine's per-checkpoint features: only the geometry is shared).

    Returns ``(features (E, N, dims), labels (N,))``.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 4.0, (3, dims))
    labels = np.repeat(np.arange(3), per_class)
    points = centres[labels] + rng.normal(0.0, 1.0, (len(labels), dims))
    frames = []
    for _ in range(n_frames):
        points = points + rng.normal(0.0, drift, points.shape)
        rotation, _ = np.linalg.qr(rng.normal(size=(dims, dims)))
        frames.append(points @ rotation)
    return np.stack(frames).astype(np.float32), labels


@pytest.fixture
def drifting() -> tuple[np.ndarray, np.ndarray]:
    return drifting_frames()


@pytest.fixture(scope="session")
def digits_run():
    """A bias-free MLP trained briefly on digits, with checkpoints at epochs 0, 1, 3 and 8."""
    import linlens_widgets as ll

    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [64, 64], data.n_classes, bias=False, seed=0)
    return ll.train(
        model, data, epochs=8, checkpoints=[0, 1, 3, 8], probe=240, progress=False, seed=0
    )
