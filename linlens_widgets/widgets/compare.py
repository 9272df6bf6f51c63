"""WeightCompare: two samples' effective weights side by side, their difference and cosine.

For each of two probe samples: the input image, W_eff as C per-class images in the input's shape
(diverging colour map, one symmetric scale shared by both samples), b_eff when the network has
biases, the predicted class outlined; then A − B, the cosine similarity of the two W_eff overall
and per class, and optionally the class-mean W_eff row (``ll.metrics.class_mean_weights``).
The front end asks for a sample at a checkpoint when it needs it; the engine computes it and the
answer travels as float32 buffers (a few KB), cached in the browser.

>>> import linlens_widgets as ll
>>> cmp = ll.WeightCompare(run, 0, 7)  # doctest: +SKIP
>>> cmp.epoch = 0; cmp.cosine()["overall"]  # doctest: +SKIP
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
from linlens_widgets.widgets.embedding import _indices, _position


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


class WeightCompare(anywidget.AnyWidget):
    """Compare the effective weights of probe samples ``sample_a`` and ``sample_b``.

    Args:
        run: a trained or loaded ``Run``.
        sample_a: first probe index (default 0).
        sample_b: second probe index (default 1).
        epoch: checkpoint position (default -1, the last).
        classes: which class rows to show (default None: all).
        class_means: show the class-mean W_eff row (default False).
        checkpoints: run checkpoint indices the positions refer to (default: all checkpoints;
            the explorer passes the trajectory's ``checkpoint_ids``).

    Raises:
        ValueError: for a sample index out of range, an epoch not in the run, or a class that
            the model does not output, naming the value.

    >>> WeightCompare(run, 3, 42, classes=[3, 8], class_means=True)  # doctest: +SKIP
    """

    _esm = bundle("compare.js")

    sample_a = traitlets.Int(0).tag(sync=True)
    sample_b = traitlets.Int(1).tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)
    classes = traitlets.List(traitlets.Int()).tag(sync=True)
    show_class_means = traitlets.Bool(False).tag(sync=True)

    _classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _image_shape = traitlets.List(traitlets.Int()).tag(sync=True)
    _n_samples = traitlets.Int(0).tag(sync=True)
    _n_outputs = traitlets.Int(0).tag(sync=True)
    _epoch_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _revision = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        run: Any,
        sample_a: int = 0,
        sample_b: int = 1,
        *,
        epoch: int = -1,
        classes: Sequence[int] | None = None,
        class_means: bool = False,
        checkpoints: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
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
            _epoch_labels=[f["label"] for f in _sources.frames(run, self.checkpoint_ids)],
            sample_a=sample_a,
            sample_b=sample_b,
            epoch=_position(epoch, len(self.checkpoint_ids)),
            classes=list(classes or []),
            show_class_means=class_means,
            **kwargs,
        )
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ validation
    def _valid_sample(self, value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer probe index, got {value!r}")
        if not 0 <= int(value) < self._n:
            raise ValueError(f"{name} {int(value)} is out of range (the run has {self._n} probes)")
        return int(value)

    @traitlets.validate("sample_a")
    def _valid_a(self, proposal: dict[str, Any]) -> int:
        return self._valid_sample(proposal["value"], "sample_a")

    @traitlets.validate("sample_b")
    def _valid_b(self, proposal: dict[str, Any]) -> int:
        return self._valid_sample(proposal["value"], "sample_b")

    @traitlets.validate("epoch")
    def _valid_epoch(self, proposal: dict[str, Any]) -> int:
        return _position(proposal["value"], len(self.checkpoint_ids), allow_negative=False)

    @traitlets.validate("classes")
    def _valid_classes(self, proposal: dict[str, Any]) -> list[int]:
        return _indices(proposal["value"], self._c_out, "classes")

    # ------------------------------------------------------------------ engine access
    def checkpoint_of(self, epoch: int | None = None) -> int:
        """Run checkpoint index shown at checkpoint position ``epoch`` (default: current)."""
        e = self.epoch if epoch is None else _position(epoch, len(self.checkpoint_ids))
        return int(self.checkpoint_ids[e])

    def weights(self, sample: int, epoch: int | None = None) -> dict[str, np.ndarray | None]:
        """Return the arrays the front end draws for one sample at one checkpoint position.

        Returns:
            dict: ``input`` (D,), ``weight`` (C, D), ``bias`` (C,) or None, ``output`` (C,),
            ``label`` (0-d int), all float32 except the label.

        >>> cmp.weights(0)["weight"].shape  # doctest: +SKIP
        (10, 64)
        """
        s = self._valid_sample(sample, "sample")
        ew = self.run.effective_weights(self.checkpoint_of(epoch))
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

    def class_means(self, epoch: int | None = None) -> np.ndarray:
        """Class-mean W_eff at a checkpoint position: (classes, outputs, D) float32."""
        from linlens_widgets.analysis import metrics

        ew = self.run.effective_weights(self.checkpoint_of(epoch))
        means = metrics.class_mean_weights(ew, self.run.probe_labels)
        means = _np(means).astype(np.float32)
        return means.reshape(means.shape[0], means.shape[1], -1)

    def cosine(self, epoch: int | None = None) -> dict[str, Any]:
        """Cosine similarity of the two samples' W_eff: ``{"overall": float, "per_class": [...]}``.

        >>> cmp.cosine()["overall"]  # doctest: +SKIP
        0.83
        """
        wa = self.weights(self.sample_a, epoch)["weight"].astype(np.float64)
        wb = self.weights(self.sample_b, epoch)["weight"].astype(np.float64)
        per_class = [_cos(a, b) for a, b in zip(wa, wb, strict=True)]
        return {"overall": _cos(wa.ravel(), wb.ravel()), "per_class": per_class}

    # ------------------------------------------------------------------ messages
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "fetch":
                sample, epoch = int(content["sample"]), int(content["epoch"])
                arrays = self.weights(sample, epoch)
                label = int(arrays.pop("label"))
                msg, buffers = pack_message(
                    {"type": "sample", "sample": sample, "epoch": epoch, "label": label}, arrays
                )
                self.send(msg, buffers)
            elif kind == "fetch_class_means":
                epoch = int(content["epoch"])
                msg, buffers = pack_message(
                    {"type": "class_means", "epoch": epoch}, {"means": self.class_means(epoch)}
                )
                self.send(msg, buffers)
        except Exception as err:  # the front end shows the message instead of waiting forever
            reply = {"type": "error", "epoch": content.get("epoch"), "message": f"{err}"}
            if kind == "fetch":
                reply["sample"] = content.get("sample")
            self.send(reply)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    d = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / d) if d > 0 else 0.0
