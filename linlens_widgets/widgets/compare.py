"""WeightCompare: two operands' effective weights side by side, their difference and similarity.

An operand (``a`` or ``b``) is a list of probe indices: one index is a single sample, several are
a group compared by its mean W_eff. For each operand: the input image, W_eff (or the contributions
W_eff ⊙ x) as C per-class images in the input's shape (diverging colour map, one symmetric scale
shared by A and B), b_eff when the network has biases, the predicted class outlined; then A − B on
its own scale, and the similarity of the two W_eff overall and per class. The similarity is the
**centred cosine** by default, the one ``ll.metrics.class_similarity`` uses: the mean W_eff over
the probe samples at that checkpoint is subtracted first (raw cosines of trained networks sit near
0.9 for almost any pair). When A is a single sample its nearest neighbours in W_eff space are
listed with the share that has A's label.

The front end asks for a sample, the probe mean or the neighbours at a checkpoint when it needs
them; the answers travel as float32 buffers (a few KB), cached in the browser.

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

from linlens_widgets.analysis.source import source_of
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._after_cell import after_cell
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets._codecs import pack_message
from linlens_widgets.widgets.contract import CONTRACT, message
from linlens_widgets.widgets.run_facts import RunFacts
from linlens_widgets.widgets.validate import (
    checkpoint_position,
    index_list,
    probe_index,
    set_state_or_keep,
)

CHANNEL_VIEWS: tuple[str, ...] = tuple(
    CONTRACT["widgets"]["WeightCompare"]["traits"]["channel_view"]["values"]
)
"""How the W_eff of a colour input is drawn (the contract's values of ``channel_view``)."""
SCALES: tuple[str, ...] = tuple(CONTRACT["widgets"]["WeightCompare"]["traits"]["scale"]["values"])
"""The W_eff colour scale: per checkpoint or over the run (the contract's values of ``scale``)."""


class WeightCompare(anywidget.AnyWidget):
    """Compare the effective weights of two operands ``a`` and ``b`` (samples or groups).

    Parameters
    ----------
    run
        A trained or loaded ``Run``.
    a
        Operand A: a probe index or a list of them (a group, compared by its mean W_eff);
        default ``[0]``.
    b
        Operand B, like ``a``; default ``[1]``.
    checkpoint
        Checkpoint position (default -1, the last).
    classes
        Which class rows to show (default None: all).
    class_means
        Show the class-mean W_eff row (default False).
    similarity
        ``"centred"`` (default: the probe mean W_eff subtracted, as ``class_similarity``) or
        ``"raw"``.
    view
        ``"weights"`` (W_eff images, default) or ``"contributions"`` (W_eff ⊙ x per class).
    channel_view
        How the W_eff of a colour input is drawn: ``"sum"`` over channels on the diverging scale
        (default, as Captum's heat maps), ``"channels"`` (one image per channel) or
        ``"template"`` (RGB, each channel rescaled to [0, 1]). One-channel inputs ignore it.
    scale
        The W_eff colour scale: ``"checkpoint"`` (default: the largest value shown at this
        checkpoint) or ``"run"`` (the largest over all checkpoints, so magnitudes compare across
        training; the colour bar says which).
    k
        Neighbours of a single-sample A to list (default 10).
    presentation
        Larger text for a projector (default False).
    checkpoints
        Run checkpoint indices the positions refer to (default: all checkpoints; the explorer
        passes the trajectory's ``checkpoint_ids``).
    facts
        The run's facts, worked out once by ``LensExplorer`` for all its widgets (default:
        worked out here from ``run`` and ``checkpoints``).

    Raises
    ------
    ValueError
        For a sample index out of range, an empty operand, a checkpoint not in the run, a class
        that the model does not output, or an unknown similarity or view, naming the value.

    Examples
    --------
    >>> WeightCompare(run, 3, [4, 8, 15], classes=[3, 8], class_means=True)  # doctest: +SKIP
    """

    _esm = bundle("compare.js")

    a = traitlets.List(traitlets.Int(), default_value=[0]).tag(sync=True)
    b = traitlets.List(traitlets.Int(), default_value=[1]).tag(sync=True)
    checkpoint = traitlets.Int(0).tag(sync=True)
    classes = traitlets.List(traitlets.Int()).tag(sync=True)
    show_class_means = traitlets.Bool(False).tag(sync=True)
    similarity = traitlets.Unicode("centred").tag(sync=True)
    view = traitlets.Unicode("weights").tag(sync=True)
    channel_view = traitlets.Enum(CHANNEL_VIEWS, default_value="sum").tag(sync=True)
    scale = traitlets.Enum(SCALES, default_value="checkpoint").tag(sync=True)
    k = traitlets.Int(10).tag(sync=True)
    presentation = traitlets.Bool(False).tag(sync=True)

    _classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _input_shape = traitlets.List(traitlets.Int()).tag(sync=True)
    _display = traitlets.Dict().tag(sync=True)
    _n_samples = traitlets.Int(0).tag(sync=True)
    _n_outputs = traitlets.Int(0).tag(sync=True)
    _checkpoint_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _revision = traitlets.Int(0).tag(sync=True)
    _network = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _network_pending = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        run: Any,
        a: int | Sequence[int] = 0,
        b: int | Sequence[int] = 1,
        *,
        checkpoint: int = -1,
        classes: Sequence[int] | None = None,
        class_means: bool = False,
        similarity: str = "centred",
        view: str = "weights",
        channel_view: str = "sum",
        scale: str = "checkpoint",
        k: int = 10,
        presentation: bool = False,
        checkpoints: Sequence[int] | None = None,
        facts: RunFacts | None = None,
        **kwargs: Any,
    ) -> None:
        facts = facts or RunFacts.of_run(run, checkpoints=checkpoints)
        self.run = run
        self.checkpoint_ids = facts.checkpoint_ids
        self._n = facts.n_samples
        self._c_out = len(facts.classes)
        self._means: dict[int, np.ndarray] = {}
        super().__init__(
            _classes=list(facts.classes),
            _input_shape=list(facts.input_shape),
            _display=dict(facts.display),
            _n_samples=self._n,
            _n_outputs=self._c_out,
            _checkpoint_labels=facts.frame_labels,
            a=_as_list(a),
            b=_as_list(b),
            checkpoint=checkpoint_position(checkpoint, len(self.checkpoint_ids)),
            classes=list(classes or []),
            show_class_means=class_means,
            similarity=similarity,
            view=view,
            channel_view=channel_view,
            scale=scale,
            k=k,
            presentation=presentation,
            **kwargs,
        )
        self._network_pending = True  # sent when the front end asks, after its first frame
        self.on_msg(self._on_message)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Display the comparison; its network payload follows once the cell has finished."""
        self.send_network_after_cell()
        return super()._repr_mimebundle_(**kwargs)

    def send_network_after_cell(self) -> None:
        """Send the network payload once the running cell has finished (see `send_network`).

        So a notebook executed without a browser (``linlens demo``) saves it with its widget
        state, and a live one gets it right after the first frame, without waiting to be asked.
        """
        if self._network_pending:
            after_cell(self.send_network)

    def send_network(self) -> dict[str, Any] | None:
        """Send the network payload the front end's own engine compares with (once); return it.

        Sent when the cell that displays the widget has finished, or when the front end asks
        for it (``fetch_network``) after its first frame, whichever comes first: tens of MB at
        10,000 probes (every checkpoint's weights, the probe inputs, the neighbour tables) that
        the scatter's first frame does not need. Until it arrives the kernel answers every
        comparison. None for a network the browser cannot compute (the kernel answers).
        """
        if self._network_pending:
            self._network = _live_network(self.run, self.checkpoint_ids, dict(self._display))
            self._network_pending = False
        return self._network

    # ------------------------------------------------------------------ validation
    @traitlets.validate("a")
    def _valid_a(self, proposal: dict[str, Any]) -> list[int]:
        return _operand(proposal["value"], self._n, "a")

    @traitlets.validate("b")
    def _valid_b(self, proposal: dict[str, Any]) -> list[int]:
        return _operand(proposal["value"], self._n, "b")

    @traitlets.validate("checkpoint")
    def _valid_checkpoint(self, proposal: dict[str, Any]) -> int:
        return checkpoint_position(proposal["value"], len(self.checkpoint_ids))

    @traitlets.validate("classes")
    def _valid_classes(self, proposal: dict[str, Any]) -> list[int]:
        return index_list(proposal["value"], self._c_out, "classes")

    @traitlets.validate("similarity")
    def _valid_similarity(self, proposal: dict[str, Any]) -> str:
        return _choice(proposal["value"], SIMILARITIES, "similarity")

    @traitlets.validate("view")
    def _valid_view(self, proposal: dict[str, Any]) -> str:
        return _choice(proposal["value"], VIEWS, "view")

    @traitlets.validate("k")
    def _valid_k(self, proposal: dict[str, Any]) -> int:
        k = proposal["value"]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer number of neighbours, got {k!r}")
        return int(k)

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
        rows = self.sample_rows([s], checkpoint)
        bias = rows["bias"]
        x = to_numpy(self.run.probe_inputs[s]).astype(np.float32).reshape(-1)
        return {
            "input": x,
            "weight": rows["weight"][0],
            "bias": None if bias is None else bias[0],
            "output": rows["output"][0],
            "label": np.int64(to_numpy(self.run.probe_labels[s])),
        }

    def sample_rows(
        self, samples: Sequence[int], checkpoint: int | None = None
    ) -> dict[str, np.ndarray | None]:
        """W_eff ``(S, C, D)``, b_eff ``(S, C)`` or None and outputs ``(S, C)`` of ``samples``.

        Computed for those samples alone (float32), never for the whole probe.
        """
        idx = [probe_index(s, self._n, "sample") for s in samples]
        ew = _sources.sample_weights(self.run, self.checkpoint_of(checkpoint), idx)
        weight = to_numpy(ew.weight).astype(np.float32)
        return {
            "weight": weight.reshape(len(idx), weight.shape[1], -1),
            "bias": None if ew.bias is None else to_numpy(ew.bias).astype(np.float32),
            "output": to_numpy(ew.output).astype(np.float32),
        }

    def operand_weight(self, operand: Sequence[int], checkpoint: int | None = None) -> np.ndarray:
        """Mean W_eff of an operand's samples, ``(C, D)`` float64 (one sample: its W_eff)."""
        idx = _operand(operand, self._n, "operand")
        groups = np.full(self._n, -1, dtype=np.int64)
        groups[np.asarray(idx, dtype=np.int64)] = 0
        w = _sources.group_means(self.run, self.checkpoint_of(checkpoint), groups, 1)[0]
        return w.reshape(w.shape[0], -1)

    def class_means(self, checkpoint: int | None = None) -> np.ndarray:
        """Class-mean W_eff at a checkpoint position: (classes, outputs, D) float32."""
        labels = to_numpy(self.run.probe_labels).astype(np.int64).reshape(-1)
        cid = self.checkpoint_of(checkpoint)
        means = _sources.group_means(self.run, cid, labels, int(labels.max()) + 1)
        means = means.astype(np.float32)
        return means.reshape(means.shape[0], means.shape[1], -1)

    def probe_mean(self, checkpoint: int | None = None) -> np.ndarray:
        """Mean W_eff over all probe samples at a checkpoint position, ``(C, D)`` float32.

        This is what the centred cosine subtracts (``ll.metrics.probe_mean``); cached per
        checkpoint.
        """
        return self._probe_mean64(checkpoint).astype(np.float32)

    def _probe_mean64(self, checkpoint: int | None = None) -> np.ndarray:
        cid = self.checkpoint_of(checkpoint)
        if cid not in self._means:
            mean = _sources.probe_mean(self.run, cid)
            self._means[cid] = mean.reshape(self._c_out, -1)
        return self._means[cid]

    def cosine(
        self, checkpoint: int | None = None, *, similarity: str | None = None
    ) -> dict[str, Any]:
        """Similarity of the two operands' W_eff: ``{"overall": float, "per_class": [...]}``.

        Parameters
        ----------
        checkpoint
            Checkpoint position (default: the one shown).
        similarity
            ``"centred"`` (the probe mean W_eff subtracted, as ``ll.metrics.class_similarity``)
            or ``"raw"``; default: the widget's ``similarity``.

        Returns
        -------
        dict
            ``overall`` over all classes at once, ``per_class`` one value per output class, and
            ``similarity`` (which one). A centred vector of zero length gives NaN.

        Examples
        --------
        >>> cmp.cosine()["overall"]  # doctest: +SKIP
        0.12
        >>> cmp.cosine(similarity="raw")["overall"]  # doctest: +SKIP
        0.93
        """
        from linlens_widgets.analysis.neighbors import centred_cosine

        kind = _choice(
            self.similarity if similarity is None else similarity, SIMILARITIES, "similarity"
        )
        wa = self.operand_weight(self.a, checkpoint)
        wb = self.operand_weight(self.b, checkpoint)
        mean = self._probe_mean64(checkpoint) if kind == "centred" else np.zeros_like(wa)
        overall = centred_cosine(wa, wb, mean)
        per_class = [centred_cosine(x, y, m) for x, y, m in zip(wa, wb, mean, strict=True)]
        return {"overall": overall, "per_class": per_class, "similarity": kind}

    def neighbors(
        self,
        sample: int | None = None,
        checkpoint: int | None = None,
        k: int | None = None,
        *,
        similarity: str | None = None,
    ) -> Any:
        """Nearest probe samples to one sample in W_eff space, under the widget's similarity.

        Parameters
        ----------
        sample
            Probe index (default: operand A's single sample).
        checkpoint
            Checkpoint position (default: the one shown).
        k
            How many (default: the widget's ``k``).
        similarity
            ``"centred"`` or ``"raw"`` cosine; default: the widget's ``similarity`` (the list
            shown follows the similarity selector).

        Returns
        -------
        Neighbors
            ``ll.metrics.neighbors`` computed from the engine's features at that checkpoint
            (``centered=False`` under the raw cosine).

        Raises
        ------
        ValueError
            When ``sample`` is left out while A is a group, or for an unknown similarity.
        """
        from linlens_widgets.analysis.neighbors import neighbors

        if sample is None:
            if len(self.a) != 1:
                raise ValueError(f"A is a group of {len(self.a)}; pass the sample to look around")
            sample = self.a[0]
        s = probe_index(sample, self._n, "sample")
        feats = _features(self.run, self.checkpoint_of(checkpoint))
        labels = to_numpy(self.run.probe_labels).reshape(-1)
        kind = _choice(
            self.similarity if similarity is None else similarity, SIMILARITIES, "similarity"
        )
        k = self.k if k is None else k
        return neighbors(feats, s, k, labels=labels, centered=kind == "centred")

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
                predicted = int(np.argmax(arrays["output"]))
                head = message(
                    "sample", sample=sample, checkpoint=k, label=label, predicted=predicted
                )
                self.send(*pack_message(head, arrays))
            elif kind == "fetch_class_means":
                k = int(content["checkpoint"])
                head = message("class_means", checkpoint=k)
                self.send(*pack_message(head, {"means": self.class_means(k)}))
            elif kind == "fetch_probe_mean":
                k = int(content["checkpoint"])
                head = message("probe_mean", checkpoint=k)
                self.send(*pack_message(head, {"mean": self.probe_mean(k)}))
            elif kind == "fetch_neighbors":
                self._send_neighbors(content)
            elif kind == "fetch_network":
                self.send_network()
        except Exception as err:  # the front end shows the message instead of waiting forever
            reply = message("error", checkpoint=content.get("checkpoint"), message=f"{err}")
            if kind in ("fetch", "fetch_neighbors"):
                reply["sample"] = content.get("sample")
            self.send(reply)

    def _send_neighbors(self, content: dict[str, Any]) -> None:
        sample, k = int(content["sample"]), int(content["checkpoint"])
        kind = _choice(content.get("similarity", "centred"), SIMILARITIES, "similarity")
        nb = self.neighbors(sample, k, int(content.get("k", self.k)), similarity=kind)
        agreement = None if nb.agreement is None else float(nb.agreement)
        head = message(
            "neighbors", sample=sample, checkpoint=k, similarity=kind, agreement=agreement
        )
        index = np.asarray(nb.index, np.int64)
        inputs = to_numpy(self.run.probe_inputs)[index].astype(np.float32)
        arrays = {
            "index": index.astype(np.int32),
            "similarity": nb.similarity.astype(np.float32),
            # the thumbnails' images and labels, so the row needs no fetch per neighbour
            "label": to_numpy(self.run.probe_labels)[index].astype(np.int32),
            "input": inputs.reshape(len(index), -1),
        }
        self.send(*pack_message(head, arrays))

    # ------------------------------------------------------------------ browser boundary
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply an update from the browser; a bad value is refused, logged and sent back."""
        set_state_or_keep(self, super().set_state, sync_data)


LIVE_NETWORK_MAX_BYTES = 64 * 2**20
"""Largest network payload (weights of every checkpoint + probe inputs) sent to the front end;
larger ones are stored as float16, and past that the kernel answers every comparison."""


LIVE_TABLES_MAX_PROBES = 2_000
"""Largest probe set whose probe means and neighbour tables the live widget computes for its
first state. The tables cost one pass over every checkpoint's W_eff and an N x N neighbour
search per checkpoint (about 30 s a checkpoint at 10,000 MNIST probes on two cores); above this
size the explorer shows at once, sends them only when the run's analysis store already holds
them, and otherwise the kernel answers the centred comparison and the neighbours on request
(``save_html`` computes and stores them, for the page and the next explorer)."""


def _live_network(
    run: Any, checkpoint_ids: Sequence[int], display: dict[str, Any]
) -> dict[str, Any] | None:
    """Return the network payload of a portable run as binary buffers, or None (kernel only).

    With it the front end computes any sample's W_eff itself (``js/src/engine/responder.js``),
    so a comparison never waits for a kernel that is busy running another cell, and a notebook
    opened from its saved widget state compares before its kernel runs. The payload carries the
    probe means and neighbour tables too (``_network.comparison_tables``, kept in the run's
    analysis store; above `LIVE_TABLES_MAX_PROBES` probes only when already stored), so that
    comparison is the centred one with neighbours; float16 weights come with the ReLU states
    their rounding would get wrong.
    """
    from linlens_widgets.widgets import _network

    nets = _network.networks(run, checkpoint_ids, progress=False)
    if not nets:
        return None
    n_probes = len(run.probe_labels)
    inputs = n_probes * nets[0].n_inputs
    for dtype in ("float32", "float16"):
        weights = _network.weights_bytes(nets[0], len(checkpoint_ids), dtype)
        if weights + inputs <= LIVE_NETWORK_MAX_BYTES:
            payload = _network.network_payload(
                run, checkpoint_ids, display=display, dtype=dtype, nets=nets
            )
            if payload is None:
                return None
            payload.update(_live_tables(run, checkpoint_ids) or {})
            if dtype == "float16":  # pin the ReLUs that rounding would flip (see _page)
                error, patterns = _network.stored_precision(run, checkpoint_ids, nets, dtype)
                if not error <= _network.FLOAT16_TOLERANCE:  # an overflow or a NaN included
                    return None  # the kernel answers every comparison
                if patterns is not None:
                    payload["patterns"] = patterns
            return _network.encoded(payload, _buffer)
    return None


def _live_tables(run: Any, checkpoint_ids: Sequence[int]) -> dict[str, Any] | None:
    """Return the probe means and neighbour tables the live payload carries, or None (kernel).

    Computed (and stored) up to `LIVE_TABLES_MAX_PROBES` probes; above, only what the run's
    analysis store already holds, looked up once.
    """
    from linlens_widgets.widgets import _network

    if len(run.probe_labels) <= LIVE_TABLES_MAX_PROBES:
        return _network.comparison_tables(run, checkpoint_ids)
    return _network.stored_tables(run, checkpoint_ids)


def _buffer(a: np.ndarray) -> dict[str, Any]:
    """Return ``{view, dtype, shape}`` for a synced trait (float16 and int16 kept as they are)."""
    b = np.ascontiguousarray(a)
    return {"view": memoryview(b.tobytes()), "dtype": str(b.dtype), "shape": list(b.shape)}


SIMILARITIES = ("centred", "raw")
"""Similarities the comparison offers: centred cosine (default) and raw cosine."""
VIEWS = ("weights", "contributions")
"""What the per-class images show: W_eff, or the contributions W_eff ⊙ x."""


def _choice(value: Any, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _as_list(value: Any) -> Any:
    """Turn one index into a one-element list; pass lists through."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    return value


def _operand(value: Any, n: int, name: str) -> list[int]:
    """Validate an operand: a non-empty list of probe indices, returned sorted and unique."""
    value = _as_list(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a probe index or a list of them, got {value!r}")
    out = index_list(list(value), n, name)
    if not out:
        raise ValueError(f"{name} is empty; give at least one probe index")
    return out


def other_class_sample(
    labels: np.ndarray, a: int | Sequence[int], split_classes: Sequence[int] = ()
) -> int:
    """Return a probe sample whose label differs from operand ``a``'s first sample.

    The explorer's default B: a comparison across classes. Its marker should not sit on tracked
    sub-clusters either, so the first sample of another class outside ``split_classes`` (the
    classes the Colour menu offers sub-clusters of) is preferred; else the first of another class.
    """
    a = int(a) if isinstance(a, (int, np.integer)) else int(next(iter(a), 0))
    if not 0 <= a < len(labels):
        raise ValueError(f"a {a} is out of range (the run has {len(labels)} probes)")
    other = labels != labels[a]
    plain = np.flatnonzero(other & ~np.isin(labels, list(split_classes)))
    if plain.size:
        return int(plain[0])
    other_ids = np.flatnonzero(other)
    if other_ids.size:
        return int(other_ids[0])
    return min(a + 1, len(labels) - 1)


def _features(run: Any, checkpoint_id: int) -> Any:
    """Return the run's isometric features ``(N, f)`` at a run checkpoint."""
    return source_of(run).weight_features(checkpoint_id)
