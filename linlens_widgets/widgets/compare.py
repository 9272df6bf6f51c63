"""WeightCompare: two samples' effective weights side by side, their difference and cosine.

For each of two probe samples: the input image, W_eff as C per-class images in the input's shape
(diverging colour map, one symmetric scale shared by both samples), b_eff when the network has
biases, the predicted class outlined; then A − B, the cosine similarity of the two W_eff overall
and per class, and optionally the class-mean W_eff row (``ll.metrics.class_mean_weights``).
The front end asks for a sample at a checkpoint when it needs it; the engine computes it and the
answer travels as float32 buffers (a few KB), cached in the browser.

>>> import linlens_widgets as ll
>>> cmp = ll.WeightCompare(run, 0, 7)  # doctest: +SKIP
>>> cmp.checkpoint = 0; cmp.cosine()["overall"]  # doctest: +SKIP
0.41
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets

from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets._codecs import pack_message
from linlens_widgets.widgets.contract import message
from linlens_widgets.widgets.validate import (
    EpochAlias,
    checkpoint_position,
    index_list,
    probe_index,
    renamed_keyword,
    set_state_or_keep,
)


def _np(t: Any) -> np.ndarray:
    """Return a tensor or array-like as a numpy array (on the CPU)."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


class WeightCompare(EpochAlias, anywidget.AnyWidget):
    """Compare the effective weights of probe samples ``sample_a`` and ``sample_b``.

    Parameters
    ----------
    run
        A trained or loaded ``Run``.
    sample_a
        First probe index (default 0).
    sample_b
        Second probe index (default 1).
    checkpoint
        Checkpoint position (default -1, the last). ``epoch=`` is a deprecated alias.
    classes
        Which class rows to show (default None: all).
    class_means
        Show the class-mean W_eff row (default False).
    checkpoints
        Run checkpoint indices the positions refer to (default: all checkpoints; the explorer
        passes the trajectory's ``checkpoint_ids``).

    Raises
    ------
    ValueError
        For a sample index out of range, a checkpoint not in the run, or a class that the
        model does not output, naming the value.

    Examples
    --------
    >>> WeightCompare(run, 3, 42, classes=[3, 8], class_means=True)  # doctest: +SKIP
    """

    _esm = bundle("compare.js")

    sample_a = traitlets.Int(0).tag(sync=True)
    sample_b = traitlets.Int(1).tag(sync=True)
    checkpoint = traitlets.Int(0).tag(sync=True)
    classes = traitlets.List(traitlets.Int()).tag(sync=True)
    show_class_means = traitlets.Bool(False).tag(sync=True)

    _classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _image_shape = traitlets.List(traitlets.Int()).tag(sync=True)
    _n_samples = traitlets.Int(0).tag(sync=True)
    _n_outputs = traitlets.Int(0).tag(sync=True)
    _checkpoint_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _revision = traitlets.Int(0).tag(sync=True)
    _network = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

    def __init__(
        self,
        run: Any,
        sample_a: int = 0,
        sample_b: int = 1,
        *,
        checkpoint: int = -1,
        classes: Sequence[int] | None = None,
        class_means: bool = False,
        checkpoints: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        checkpoint = renamed_keyword(kwargs, "epoch", "checkpoint", checkpoint, "WeightCompare")
        if not _sources.is_run(run):
            raise TypeError(f"WeightCompare needs a Run, got {type(run).__name__}")
        self.run = run
        self.checkpoint_ids = _sources.select_checkpoints(run, checkpoints)
        self._n = len(run.probe_labels)
        labels = _sources.labels_of(run, None)
        names = _sources.class_names(run, labels)
        self._c_out = len(names)
        super().__init__(
            _classes=names,
            _image_shape=[int(v) for v in run.image_shape],
            _n_samples=self._n,
            _n_outputs=self._c_out,
            _checkpoint_labels=[f["label"] for f in _sources.frames(run, self.checkpoint_ids)],
            sample_a=sample_a,
            sample_b=sample_b,
            checkpoint=checkpoint_position(checkpoint, len(self.checkpoint_ids)),
            classes=list(classes or []),
            show_class_means=class_means,
            **kwargs,
        )
        self._network = _live_network(run, self.checkpoint_ids)
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ validation
    @traitlets.validate("sample_a")
    def _valid_a(self, proposal: dict[str, Any]) -> int:
        return probe_index(proposal["value"], self._n, "sample_a")

    @traitlets.validate("sample_b")
    def _valid_b(self, proposal: dict[str, Any]) -> int:
        return probe_index(proposal["value"], self._n, "sample_b")

    @traitlets.validate("checkpoint")
    def _valid_checkpoint(self, proposal: dict[str, Any]) -> int:
        return checkpoint_position(proposal["value"], len(self.checkpoint_ids))

    @traitlets.validate("classes")
    def _valid_classes(self, proposal: dict[str, Any]) -> list[int]:
        return index_list(proposal["value"], self._c_out, "classes")

    # ------------------------------------------------------------------ engine access
    def checkpoint_of(self, checkpoint: int | None = None) -> int:
        """Return the run checkpoint index shown at position ``checkpoint`` (default: current)."""
        n = len(self.checkpoint_ids)
        k = self.checkpoint if checkpoint is None else checkpoint_position(checkpoint, n)
        return int(self.checkpoint_ids[k])

    def weights(self, sample: int, checkpoint: int | None = None) -> dict[str, np.ndarray | None]:
        """Return the arrays the front end draws for one sample at one checkpoint position.

        Returns
        -------
        dict
            ``input`` (D,), ``weight`` (C, D), ``bias`` (C,) or None, ``output`` (C,),
            ``label`` (0-d int), all float32 except the label.

        Examples
        --------
        >>> cmp.weights(0)["weight"].shape  # doctest: +SKIP
        (10, 64)
        """
        s = probe_index(sample, self._n, "sample")
        ew = _sources.effective_weights(self.run, self.checkpoint_of(checkpoint))
        weight = _np(ew.weight[s]).astype(np.float32)
        weight = weight.reshape(weight.shape[0], -1)
        bias = None if ew.bias is None else _np(ew.bias[s]).astype(np.float32)
        output = _np(ew.output[s]).astype(np.float32)
        x = _np(self.run.probe_inputs[s]).astype(np.float32).reshape(-1)
        return {
            "input": x,
            "weight": weight,
            "bias": bias,
            "output": output,
            "label": np.int64(_np(self.run.probe_labels[s])),
        }

    def class_means(self, checkpoint: int | None = None) -> np.ndarray:
        """Class-mean W_eff at a checkpoint position: (classes, outputs, D) float32."""
        from linlens_widgets.analysis import metrics

        ew = _sources.effective_weights(self.run, self.checkpoint_of(checkpoint))
        means = metrics.class_mean_weights(ew, self.run.probe_labels)
        means = _np(means).astype(np.float32)
        return means.reshape(means.shape[0], means.shape[1], -1)

    def cosine(self, checkpoint: int | None = None) -> dict[str, Any]:
        """Cosine similarity of the two samples' W_eff: ``{"overall": float, "per_class": [...]}``.

        Examples
        --------
        >>> cmp.cosine()["overall"]  # doctest: +SKIP
        0.83
        """
        wa = self.weights(self.sample_a, checkpoint)["weight"].astype(np.float64)
        wb = self.weights(self.sample_b, checkpoint)["weight"].astype(np.float64)
        per_class = [_cos(a, b) for a, b in zip(wa, wb, strict=True)]
        return {"overall": _cos(wa.ravel(), wb.ravel()), "per_class": per_class}

    # ------------------------------------------------------------------ messages
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Answer the front end's fetch messages (the protocol is in ``contract.json``)."""
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "fetch":
                sample, k = int(content["sample"]), int(content["checkpoint"])
                arrays = self.weights(sample, k)
                label = int(arrays.pop("label"))
                head = message("sample", sample=sample, checkpoint=k, label=label)
                self.send(*pack_message(head, arrays))
            elif kind == "fetch_class_means":
                k = int(content["checkpoint"])
                head = message("class_means", checkpoint=k)
                self.send(*pack_message(head, {"means": self.class_means(k)}))
        except Exception as err:  # the front end shows the message instead of waiting forever
            reply = message("error", checkpoint=content.get("checkpoint"), message=f"{err}")
            if kind == "fetch":
                reply["sample"] = content.get("sample")
            self.send(reply)

    # ------------------------------------------------------------------ browser boundary
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply an update from the browser; a bad value is refused, logged and sent back."""
        set_state_or_keep(self, super().set_state, sync_data)


LIVE_NETWORK_MAX_BYTES = 64 * 2**20
"""Largest network payload (weights of every checkpoint + probe inputs) sent to the front end;
larger ones are stored as float16, and past that the kernel answers every comparison."""


def _live_network(run: Any, checkpoint_ids: Sequence[int]) -> dict[str, Any] | None:
    """Return the network payload of a portable run as binary buffers, or None (kernel only).

    With it the front end computes any sample's W_eff itself (``js/src/engine/responder.js``),
    so a comparison never waits for a kernel that is busy running another cell.
    """
    from linlens_widgets.widgets import _network

    net = _network.network_of(run, int(checkpoint_ids[0])) if len(checkpoint_ids) else None
    if net is None:
        return None
    inputs = len(run.probe_labels) * net.n_inputs
    for dtype in ("float32", "float16"):
        weights = _network.weights_bytes(net, len(checkpoint_ids), dtype)
        if weights + inputs <= LIVE_NETWORK_MAX_BYTES:
            payload = _network.network_payload(run, checkpoint_ids, dtype=dtype, progress=False)
            return None if payload is None else _network.encoded(payload, _buffer)
    return None


def _buffer(a: np.ndarray) -> dict[str, Any]:
    """Return ``{view, dtype, shape}`` for a synced trait (float16 and int16 kept as they are)."""
    b = np.ascontiguousarray(a)
    return {"view": memoryview(b.tobytes()), "dtype": str(b.dtype), "shape": list(b.shape)}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    """Return the cosine of two vectors (0 when either is zero)."""
    d = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / d) if d > 0 else 0.0
