"""One recorded moment of training: :class:`Checkpoint` (position, epoch, step, metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    """One recorded moment of training.

    Attributes
    ----------
    index : int
        Position in ``run.checkpoints``.
    epoch : float
        Epochs completed (fractional between epoch ends; 0 is initialisation).
    step : int
        Optimizer steps completed.
    metrics : dict[str, float]
        ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc`` and any extra values.
    wall_time : float
        Seconds since training (the recorder) started.
    """

    index: int
    epoch: float
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    wall_time: float = 0.0
