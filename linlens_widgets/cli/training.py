"""Training the MLP preset from the command line: the shape check and the seeded training."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linlens_widgets.cli.errors import CommandError
from linlens_widgets.cli.terminal import say

if TYPE_CHECKING:
    from linlens_widgets.runs.datasets import Dataset
    from linlens_widgets.runs.store import Run

RUN_DEFAULTS: dict[str, Any] = {
    "dataset": "digits",
    "hidden": [256, 256],
    "bias": False,
    "epochs": 20,
    "checkpoints": "log",
    "probe": None,
    "seed": 0,
}
"""The paper's bias-free two-hidden-layer MLP on digits: the demo's run, and the defaults of
``train`` (on whichever dataset is chosen) and ``sweep``."""

#: Largest network ``train``/``demo`` build (parameters): 400 MB per checkpoint in float32.
MAX_PARAMETERS = 100_000_000


def check_shape(data: Dataset, hidden: Sequence[int], probe: int | None) -> None:
    """Refuse a probe larger than the test split, and a network too large to build."""
    n_test = len(data.y_test)
    if probe is not None and probe > n_test:
        raise CommandError(
            f"--probe {probe} is larger than the {data.name} test split ({n_test} samples); "
            f"choose --probe {n_test} or less"
        )
    widths = [data.n_features, *hidden, data.n_classes]
    parameters = sum(a * b + b for a, b in itertools.pairwise(widths))
    if parameters > MAX_PARAMETERS:
        raise CommandError(
            f"--hidden {' '.join(map(str, hidden))} makes a network of {parameters:,} "
            f"parameters, more than {MAX_PARAMETERS:,}; choose smaller widths"
        )


def train_run(
    data: Dataset,
    *,
    hidden: Sequence[int],
    bias: bool,
    init_scale: float = 1.0,
    seed: int,
    **train_kwargs: Any,
) -> Run:
    """Build the MLP preset for ``data`` (seeded) and train it with a progress bar."""
    import linlens_widgets as ll

    model = ll.models.mlp(
        data.n_features, list(hidden), data.n_classes, bias=bias, init_scale=init_scale, seed=seed
    )
    say(
        f"training {data.n_features}-{'-'.join(map(str, hidden))}-{data.n_classes} MLP "
        f"({'with' if bias else 'without'} bias) on {data.name}"
    )
    try:
        return ll.train(model, data, seed=seed, progress=True, **train_kwargs)
    except ValueError as exc:  # e.g. a diverged loss; train's own messages say what to change
        raise CommandError(f"{exc} (on the command line: --lr, --init-scale)") from None
