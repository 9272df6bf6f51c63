"""RunSource: what the widgets read from a run, named as one protocol.

A :class:`~linlens_widgets.runs.store.Run` is the record of training; what the widgets and the
saved page need from it is its probe (inputs and labels), its classes, the shape of one input, its
checkpoints, and the effective weights, isometric features and predictions of the probe samples at
any checkpoint. :class:`RunSource` names exactly that. It is implemented by

- :class:`~linlens_widgets.analysis.weights.RunWeights` (``run_weights(run)``: one recorded run),
- :class:`~linlens_widgets.widgets.sweep_pair.RunPair` (two runs of a sweep side by side),
- the test double ``FakeRun`` of the widget tests.

:func:`source_of` is the one place where a ``Run`` becomes its source.

>>> import linlens_widgets as ll
>>> data = ll.datasets.digits()
>>> run = ll.train(ll.models.mlp(64, [16], 10), data, epochs=1, checkpoints=2, progress=False)
>>> isinstance(source_of(run), RunSource), source_of(run) is source_of(run)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.runs.store import Run

__all__ = ["RunSource", "source_of"]


@runtime_checkable
class RunSource(Protocol):
    """A run as the widgets read it: probe, classes, input shape, checkpoints, weights.

    Attributes
    ----------
    probe_inputs : Tensor or array (N, *input_shape)
        The probe samples, as the network receives them.
    probe_labels : Tensor or array (N,)
        Their labels.
    classes : sequence of str
        Class names (may be empty: the widgets then number the classes).
    input_shape : tuple of int
        Shape of one input: ``(C, H, W)`` for images, ``(D,)`` for feature vectors.
    checkpoints : sequence
        Per checkpoint, an object with ``epoch`` (float), ``step`` (int) and ``metrics`` (dict).
    """

    probe_inputs: Any
    probe_labels: Any
    classes: Sequence[str]
    input_shape: tuple[int, ...]
    checkpoints: Sequence[Any]

    def effective_weights(self, i: int) -> Any:
        """Return the probe samples' effective weights at checkpoint ``i``.

        An object with ``.weight`` ``(N, C_out, *input_shape)``, ``.bias`` and ``.output``.
        """
        ...

    def weight_features(self, i: int) -> Any:
        """Return features ``(N, f)`` whose inner products equal those of the flattened W_eff."""
        ...

    def predictions(self, i: int) -> Any:
        """Return the predicted class ``(N,)`` of every probe sample at checkpoint ``i``."""
        ...


def source_of(run: Any) -> RunSource:
    """Return ``run`` as a :class:`RunSource`: a source as it is, a ``Run`` as its ``RunWeights``.

    Raises
    ------
    TypeError
        When ``run`` is neither (naming its type).
    """
    if isinstance(run, Run):
        return run_weights(run)
    if isinstance(run, RunSource):
        return run
    raise TypeError(f"expected a Run or a RunSource, got {type(run).__name__}")
