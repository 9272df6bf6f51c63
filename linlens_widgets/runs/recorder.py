"""The :class:`Recorder`: snapshots a model's weights and metrics during training into a Run.

:func:`linlens_widgets.train` uses it; it works just as well inside your own training loop. The
recording itself is :class:`~linlens_widgets.runs.snapshots.Snapshots`, shared with
``Run.from_checkpoints``; the Recorder adds the :class:`Run` it hands out.
"""

from __future__ import annotations

from linlens_widgets.runs.snapshots import Snapshots
from linlens_widgets.runs.store import Run

__all__ = ["Recorder"]


class Recorder(Snapshots):
    """Record checkpoints of ``model`` trained on ``data``; ``recorder.run`` is the resulting Run.

    Each :meth:`snapshot` copies the weights to the CPU and (unless ``evaluate=False``) computes
    ``train_loss``, ``train_acc``, ``test_loss`` and ``test_acc`` (cross-entropy, eval mode, batched
    passes without gradients; train metrics on at most
    :data:`~linlens_widgets.runs.snapshots.TRAIN_EVAL_CAP` = 10,000 training samples, a fixed
    stratified subset); metrics you pass are added (and win over computed ones).

    Parameters
    ----------
    model : nn.Module
        The model being trained (weights are read at each snapshot; it is not modified).
    data : Dataset
        Its dataset (see :class:`linlens_widgets.Dataset`).
    probe : optional
        Samples whose effective weights the run tracks: ``None`` (the test split, at most 2,000,
        stratified), an ``int``, ``"test"``, indices into the test split, or ``(inputs, labels)``.
    evaluate : bool, default True
        Compute train/test loss and accuracy at every snapshot.
    config : dict, optional
        Training settings stored with the run (JSON).

    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> model = ll.models.mlp(64, [32], 10)
    >>> rec = ll.Recorder(model, data, probe=100)
    >>> first = rec.snapshot(epoch=0, step=0)
    >>> # ... your training loop, calling rec.snapshot(epoch=e, step=s) when you like ...
    >>> rec.run.checkpoints[0].metrics["test_acc"] < 0.5
    True
    """

    @property
    def run(self) -> Run:
        """A new :class:`Run` of the checkpoints recorded so far (at least one is needed).

        Each access builds a new Run (with its own cache); keep the one you use.
        """
        return self.build(Run)
