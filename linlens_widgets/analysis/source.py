"""RunSource: what the widgets read from a run, named as one protocol.

A :class:`~linlens_widgets.runs.store.Run` is the record of training; what the widgets and the
saved page need from it is its probe (inputs and labels), its classes, the shape of one input, its
checkpoints, the analysis store kept with it (if any), and the effective weights, isometric
features and predictions of the probe samples at any checkpoint. :class:`RunSource` names exactly
that. It is implemented by

- :class:`~linlens_widgets.analysis.weights.RunWeights` (``run_weights(run)``: one recorded run),
- :class:`~linlens_widgets.widgets.sweep_pair.RunPair` (two runs of a sweep side by side),
- the test double ``FakeRun`` of the widget tests.

A source that computes W_eff in bounded row chunks (``RunWeights``) is also a
:class:`ChunkedSource`; the others hold a checkpoint's W_eff whole. :func:`source_of` is the one
place where a ``Run`` becomes its source, and :func:`is_source` says what it accepts.

>>> import linlens_widgets as ll
>>> data = ll.datasets.digits()
>>> run = ll.train(ll.models.mlp(64, [16], 10), data, epochs=1, checkpoints=2, progress=False)
>>> isinstance(source_of(run), RunSource), source_of(run) is source_of(run)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.runs.store import Run

if TYPE_CHECKING:
    from linlens_widgets.analysis.store import AnalysisStore

__all__ = ["ChunkedSource", "RunSource", "is_source", "source_of"]


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
    store : AnalysisStore or None
        The analysis store of the recorded run; None for a source that keeps none (a pair of
        runs, a test double): what the widgets would store is then computed again when asked.
    """

    probe_inputs: Any
    probe_labels: Any
    classes: Sequence[str]
    input_shape: tuple[int, ...]
    checkpoints: Sequence[Any]
    store: AnalysisStore | None

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


@runtime_checkable
class ChunkedSource(RunSource, Protocol):
    """A :class:`RunSource` that computes W_eff in bounded row chunks, never a whole checkpoint.

    The widgets ask it for what they draw (a few samples, group means, the probe mean) instead of
    reducing a whole checkpoint's W_eff themselves.
    """

    def iter_effective_weights(self, i: int) -> Iterator[tuple[int, Any]]:
        """Yield ``(start, chunk)`` of the probe samples' W_eff at checkpoint ``i``."""
        ...

    def sample_weights(self, i: int, samples: Any) -> Any:
        """Return the W_eff of the probe samples ``samples`` (indices) at checkpoint ``i``."""
        ...

    def group_means(self, i: int, groups: Any, n_groups: int | None = None) -> Any:
        """Return the mean W_eff ``(n_groups, C, *input)`` of groups of probe samples."""
        ...

    def probe_mean(self, i: int) -> Any:
        """Return the mean W_eff over all probe samples at checkpoint ``i``."""
        ...


def is_source(obj: Any) -> bool:
    """Whether :func:`source_of` reads ``obj``: a ``Run`` or a :class:`RunSource`."""
    return isinstance(obj, (Run, RunSource))


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
