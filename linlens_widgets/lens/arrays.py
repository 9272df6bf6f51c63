"""One conversion of array-likes to numpy, used wherever tensors leave torch.

Runs, trajectories and user inputs hold torch tensors (on any device) or numpy arrays; the
analyses, the widgets and the saved pages read them as numpy arrays through :func:`to_numpy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["to_numpy"]


def to_numpy(value: Any) -> np.ndarray:
    """Return a numpy array of a torch tensor (any device, detached), an array or a sequence.

    >>> import torch
    >>> to_numpy(torch.ones(2)).tolist()
    [1.0, 1.0]
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
