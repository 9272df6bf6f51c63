"""A small run on 8-bit pixels, and its saved page, for tests of pages that store pixels once.

The bundled digits as ``code / 255`` (exact in float32), so the network's uint8 inputs are the
embedding's thumbnails byte for byte; the layout is a stand-in (random positions), since what
is tested does not depend on where the points lie.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.trajectory import Trajectory
from linlens_widgets.runs.dataset import Dataset
from linlens_widgets.runs.display import InputDisplay

N_CHECKPOINTS = 3


def pixel_digits() -> Dataset:
    """The bundled digits as 8-bit pixels: inputs ``code / 255``, exact in float32."""
    data = ll.datasets.digits()

    def pixels(x: torch.Tensor) -> torch.Tensor:
        return (torch.round(x * 255) / 255).to(torch.float32)

    return Dataset(
        "digits-8bit",
        pixels(data.x_train),
        data.y_train,
        pixels(data.x_test),
        data.y_test,
        data.classes,
        InputDisplay.unit((8, 8)),
    )


def stand_in_page(data: Dataset, folder: Path) -> tuple[ll.Run, Path]:
    """Train a small bias-free MLP one epoch on ``data`` and save its page in ``folder``."""
    torch.manual_seed(0)
    model = ll.models.mlp(data.n_features, [24, 16], data.n_classes, bias=False, seed=0)
    steps = {"steps": list(range(N_CHECKPOINTS))}
    run = ll.train(model, data, epochs=1, checkpoints=steps, progress=False)
    n = len(run.probe_labels)
    positions = np.random.default_rng(0).uniform(-1, 1, (N_CHECKPOINTS, n, 2))
    traj = Trajectory(
        positions.astype(np.float32),
        checkpoint_ids=np.arange(N_CHECKPOINTS),
        labels=np.asarray(run.probe_labels),
    )
    explorer = ll.LensExplorer(run, trajectory=traj, panel=False)
    return run, explorer.save_html(folder / "page.html")
