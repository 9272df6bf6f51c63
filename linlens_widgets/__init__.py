"""linlens_widgets: watch a ReLU network learn through the linear lens.

A piecewise-linear network (ReLU, LeakyReLU, max-pool, eval-mode BatchNorm, residual adds,
convolutions) is, at every input x, an affine map ``f(x) = W_eff(x) @ x + b_eff(x)``. This package
computes those effective weights exactly, records them across training, embeds them with an aligned
t-SNE, and lets you explore the result in linked Jupyter widgets.

>>> import linlens_widgets as ll
>>> data = ll.datasets.digits()
>>> model = ll.models.mlp(data.n_features, [128, 128], data.n_classes)
>>> run = ll.train(model, data, epochs=20)            # doctest: +SKIP
>>> ll.LensExplorer(run)                               # doctest: +SKIP

Public names are imported lazily, so ``import linlens_widgets`` stays cheap and each part (engine,
runs, analysis, widgets) loads only when it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linlens_widgets.version import __version__

# public name -> (module, attribute); attribute None means the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # lens: the effective-weight engine
    "effective_weights": ("linlens_widgets.lens.effective", "effective_weights"),
    "EffectiveWeights": ("linlens_widgets.lens.effective", "EffectiveWeights"),
    "weight_features": ("linlens_widgets.lens.effective", "weight_features"),
    "activation_patterns": ("linlens_widgets.lens.patterns", "activation_patterns"),
    "UnsupportedLayerError": ("linlens_widgets.lens.layers", "UnsupportedLayerError"),
    # runs: data, models, training, storage
    "datasets": ("linlens_widgets.runs.datasets", None),
    "Dataset": ("linlens_widgets.runs.datasets", "Dataset"),
    "InputDisplay": ("linlens_widgets.runs.display", "InputDisplay"),
    "models": ("linlens_widgets.runs.models", None),
    "train": ("linlens_widgets.runs.train", "train"),
    "Recorder": ("linlens_widgets.runs.recorder", "Recorder"),
    "Run": ("linlens_widgets.runs.store", "Run"),
    "Checkpoint": ("linlens_widgets.runs.store", "Checkpoint"),
    "RunFormatError": ("linlens_widgets.runs.store", "RunFormatError"),
    # analysis: embeddings and metrics
    "embed": ("linlens_widgets.analysis.embed", "embed"),
    "Trajectory": ("linlens_widgets.analysis.trajectory", "Trajectory"),
    "metrics": ("linlens_widgets.analysis.metrics", None),
    "run_weights": ("linlens_widgets.analysis.weights", "run_weights"),
    # sweeps: many runs on a Dask cluster
    "sweep": ("linlens_widgets.sweeps.execute", "sweep"),
    "Sweep": ("linlens_widgets.sweeps.record", "Sweep"),
    # widgets
    "EmbeddingView": ("linlens_widgets.widgets.embedding", "EmbeddingView"),
    "WeightCompare": ("linlens_widgets.widgets.compare", "WeightCompare"),
    "CheckpointScrubber": ("linlens_widgets.widgets.scrubber", "CheckpointScrubber"),
    "LensExplorer": ("linlens_widgets.widgets.explorer", "LensExplorer"),
    "SweepExplorer": ("linlens_widgets.widgets.sweep_explorer", "SweepExplorer"),
    # plots
    "plots": ("linlens_widgets.plots", None),
}

__all__ = [
    "Checkpoint",
    "CheckpointScrubber",
    "Dataset",
    "EffectiveWeights",
    "EmbeddingView",
    "InputDisplay",
    "LensExplorer",
    "Recorder",
    "Run",
    "RunFormatError",
    "Sweep",
    "SweepExplorer",
    "Trajectory",
    "UnsupportedLayerError",
    "WeightCompare",
    "__version__",
    "activation_patterns",
    "datasets",
    "effective_weights",
    "embed",
    "metrics",
    "models",
    "plots",
    "run_weights",
    "sweep",
    "train",
    "weight_features",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from linlens_widgets import plots
    from linlens_widgets.analysis import metrics
    from linlens_widgets.analysis.embed import embed
    from linlens_widgets.analysis.trajectory import Trajectory
    from linlens_widgets.analysis.weights import run_weights
    from linlens_widgets.lens.effective import EffectiveWeights, effective_weights, weight_features
    from linlens_widgets.lens.layers import UnsupportedLayerError
    from linlens_widgets.lens.patterns import activation_patterns
    from linlens_widgets.runs import datasets, models
    from linlens_widgets.runs.datasets import Dataset
    from linlens_widgets.runs.display import InputDisplay
    from linlens_widgets.runs.recorder import Recorder
    from linlens_widgets.runs.store import Checkpoint, Run, RunFormatError
    from linlens_widgets.runs.train import train
    from linlens_widgets.sweeps.execute import sweep
    from linlens_widgets.sweeps.record import Sweep
    from linlens_widgets.widgets.compare import WeightCompare
    from linlens_widgets.widgets.embedding import EmbeddingView
    from linlens_widgets.widgets.explorer import LensExplorer
    from linlens_widgets.widgets.scrubber import CheckpointScrubber
    from linlens_widgets.widgets.sweep_explorer import SweepExplorer


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'linlens_widgets' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names, including those not yet imported."""
    return sorted(set(globals()) | set(_EXPORTS))
