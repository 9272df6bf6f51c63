"""The small digits run every browser test looks at, trained once per session and saved to disk.

Notebooks load it with ``ll.Run.load`` (its trajectory is saved with it), so each kernel spends
its time on what the test is about, not on training and t-SNE.
"""

from __future__ import annotations

import os
from pathlib import Path

# mlp 64-[32, 32]-10 on digits: the probe is the 450-sample test split; a few epochs, 8 checkpoints.
HIDDEN = (32, 32)
EPOCHS = 4
CHECKPOINTS = 8
# The t-SNE seed of the test run's embedding. The browser tests aim at the positions the page
# draws, so they pass with any layout: set LINLENS_E2E_EMBED_SEED to run them on another one.
SEED_VARIABLE = "LINLENS_E2E_EMBED_SEED"


def embed_seed() -> int:
    """The embedding seed of the test run (``LINLENS_E2E_EMBED_SEED``, default 0)."""
    value = os.environ.get(SEED_VARIABLE, "0")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE} must be an integer, got {value!r}") from None


def train_digits_run(folder: Path) -> Path:
    """Train, embed and save the test run into ``folder / "digits-run"``; return that path."""
    import torch

    import linlens_widgets as ll

    data = ll.datasets.digits()
    torch.manual_seed(0)  # the initial weights: the same run whatever ran before in the session
    model = ll.models.mlp(data.n_features, list(HIDDEN), data.n_classes)
    run = ll.train(model, data, epochs=EPOCHS, checkpoints=CHECKPOINTS, seed=0, progress=False)
    ll.embed(run, seed=embed_seed(), progress=False)
    path = folder / "digits-run"
    run.save(path)
    return path


def setup_cell(run_path: Path) -> str:
    """Notebook code that loads the saved run and its trajectory as ``run`` and ``traj``."""
    return (
        "import json\n"
        "import numpy as np\n"
        "import torch\n"
        "import linlens_widgets as ll\n"
        f"run = ll.Run.load({str(run_path)!r})\n"
        f"traj = ll.embed(run, seed={embed_seed()}, progress=False)\n"
    )
