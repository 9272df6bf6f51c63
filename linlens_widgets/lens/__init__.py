"""The effective-weight engine: exact W_eff(x), b_eff(x) and activation patterns (torch only).

>>> import torch, torch.nn as nn
>>> from linlens_widgets.lens import effective_weights
>>> net = nn.Sequential(nn.Linear(4, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))
>>> tuple(effective_weights(net, torch.randn(2, 4)).weight.shape)
(2, 3, 4)
"""

from linlens_widgets.lens.effective import (
    EffectiveWeights,
    effective_weights,
    iter_effective_weights,
    weight_features,
)
from linlens_widgets.lens.layers import TrainingModeError, UnsupportedLayerError
from linlens_widgets.lens.patterns import (
    activation_patterns,
    count_regions,
    hamming,
    pairwise_hamming,
    pattern_codes,
    pattern_matrix,
)

__all__ = [
    "EffectiveWeights",
    "TrainingModeError",
    "UnsupportedLayerError",
    "activation_patterns",
    "count_regions",
    "effective_weights",
    "hamming",
    "iter_effective_weights",
    "pairwise_hamming",
    "pattern_codes",
    "pattern_matrix",
    "weight_features",
]
