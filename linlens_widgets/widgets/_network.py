"""The network payload that lets the browser compute any sample's W_eff without a kernel.

For a run whose model is a portable stack (``lens.portable``), the front end's engine
(``js/src/engine/responder.js``) answers the comparison's messages itself from:

* ``spec`` and ``weights``: each checkpoint's layer arrays (float32, or float16 at half the size);
* ``inputs``: the probe inputs in their source precision — ``uint8`` times ``input_scale`` when
  that reproduces the float32 inputs exactly (image data sets); for inputs normalised per channel
  (``transforms.Normalize`` after ``ToTensor``), ``uint8`` pixels and ``input_normalize``
  ``{mean, std}`` when ``(code / 255 - mean) / std`` in float32 gives back every input exactly;
  else float32;
* ``labels``: the probe labels (int32);
* optionally (a saved page) ``probe_mean``, the mean W_eff over the probe at each checkpoint
  (``ll.metrics.probe_mean``, what the centred cosine subtracts), and ``neighbors``, every sample's
  ``k`` nearest neighbours by centred cosine (``ll.metrics.neighbor_table`` on the isometric weight
  features): int16/int32 indices and float16 similarities; ``neighbors_raw`` the indices by raw
  cosine (the engine computes the k similarities it shows);
* optionally ``patterns``: the ReLU units whose state the stored weights would get wrong, with
  the float32 network's state (`stored_precision`, ``lens.pattern_corrections``).

The payload holds numpy arrays; the live widget sends them as binary buffers, the saved page packs
them (`packed`: checkpoint deltas and byte planes, deflated, ``widgets._packing``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from linlens_widgets.analysis.neighbors import checkpoint_neighbors, neighbor_table
from linlens_widgets.analysis.source import source_of
from linlens_widgets.analysis.threads import torch_threads
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.lens.effective import effective_weights
from linlens_widgets.lens.pattern_corrections import corrections, supports
from linlens_widgets.lens.portable import portable_network, to_arrays
from linlens_widgets.lens.portable_module import to_module
from linlens_widgets.progress import tqdm
from linlens_widgets.widgets import _packing, _sources

__all__ = [
    "FLOAT16_TOLERANCE",
    "NEIGHBORS_K",
    "TABLES_ENTRY",
    "at_precision",
    "comparison_tables",
    "encoded",
    "holds",
    "model_input_shape",
    "network_of",
    "network_payload",
    "networks",
    "normalized_inputs",
    "packed",
    "quantized_inputs",
    "stored_precision",
    "weights_bytes",
]

NEIGHBORS_K = 10
"""Neighbours per sample and checkpoint stored for an offline comparison."""

FLOAT16_TOLERANCE = 2e-3
"""Largest relative W_eff (and output) error for which a page stores its layer arrays as float16."""

_SCALES = (1 / 255, 1 / 16, 1.0)


def model_input_shape(run: Any) -> tuple[int, ...]:
    """Shape of one probe input as the model takes it (``(C, H, W)`` images, ``(D,)`` vectors).

    A stack that starts with a convolution cannot tell its input shape by itself; the run's
    probe inputs can.
    """
    return tuple(int(v) for v in run.probe_inputs.shape[1:])


def network_of(run: Any, checkpoint: int) -> Any | None:
    """Return the portable description of the run's model at a run checkpoint index, or None."""
    model_at = getattr(run, "model_at", None)
    if model_at is None:
        return None
    try:
        model = model_at(int(checkpoint))
    except Exception:  # a run without its model class cannot be carried; the bank stands in
        return None
    return portable_network(model, model_input_shape(run))


def networks(run: Any, checkpoint_ids: Sequence[int], *, progress: bool = True) -> list[Any] | None:
    """Return the portable description at each checkpoint, or None if any one is not portable."""
    nets = []
    for i in tqdm(checkpoint_ids, desc="network", leave=False, disable=not progress):
        net = network_of(run, int(i))
        if net is None:
            return None
        nets.append(net)
    return nets


def quantized_inputs(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the inputs in their source precision: ``(uint8 codes, scale)`` if exact, else float32.

    The front end rebuilds a sample as ``float32(code * scale)`` (the multiplication in float64);
    uint8 is chosen only when that gives back every float32 value exactly.

    Examples
    --------
    >>> codes, scale = quantized_inputs(np.array([[0, 1, 254]], np.float32) / np.float32(255))
    >>> codes.dtype, scale == 1 / 255
    (dtype('uint8'), True)
    >>> quantized_inputs(np.array([[0.3]], np.float32))[0].dtype
    dtype('float32')
    """
    flat = np.ascontiguousarray(x, dtype=np.float32)
    head = flat[:_QUICK_ROWS]  # a scale that fails on the first rows fails; skip the full pass
    for scale in _SCALES:
        if _codes(head, scale) is None:
            continue
        codes = _codes(flat, scale)
        if codes is not None:
            return codes, float(scale)
    return flat, 1.0


_QUICK_ROWS = 256
"""Rows an exactness check (`quantized_inputs`, `normalized_inputs`) tries before all rows."""


def _codes(flat: np.ndarray, scale: float) -> np.ndarray | None:
    """Return the uint8 codes with ``float32(code * scale) == flat`` exactly, or None."""
    codes = np.rint(flat.astype(np.float64) / scale)
    if codes.min(initial=0) < 0 or codes.max(initial=0) > 255:
        return None
    if not np.array_equal((codes * scale).astype(np.float32), flat):
        return None
    return codes.astype(np.uint8)


def normalized_inputs(
    x: np.ndarray, mean: Sequence[float], std: Sequence[float]
) -> np.ndarray | None:
    """Return the uint8 pixels of inputs normalised per channel, or None if not exact.

    ``x`` (N, C·H·W, channel-major) is taken to be ``(code / 255 - mean[c]) / std[c]`` computed in
    float32, as torchvision's ``ToTensor`` then ``Normalize`` do; the codes are returned only when
    that computation gives back every value of ``x`` bit for bit (the front end repeats it).

    Examples
    --------
    >>> codes = np.array([[0, 128, 255, 7]], np.uint8)
    >>> m, s = np.float32([0.5, 0.25]), np.float32([0.2, 0.3])
    >>> x = (codes.astype(np.float32) / np.float32(255) - m.repeat(2)) / s.repeat(2)
    >>> np.array_equal(normalized_inputs(x, m, s), codes)
    True
    """
    flat = np.ascontiguousarray(x, dtype=np.float32)
    n_ch = len(mean)
    if len(std) != n_ch or n_ch == 0 or flat.shape[1] % n_ch:
        return None
    m = np.repeat(np.asarray(mean, np.float32), flat.shape[1] // n_ch)
    s = np.repeat(np.asarray(std, np.float32), flat.shape[1] // n_ch)
    if _pixels(flat[:_QUICK_ROWS], m, s) is None:  # inexact on the first rows: inexact
        return None
    return _pixels(flat, m, s)


def _pixels(flat: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray | None:
    """Return the uint8 codes whose ``(code / 255 - m) / s`` in float32 is ``flat``, or None."""
    codes = np.rint((flat.astype(np.float64) * s + m) * 255)
    if codes.min(initial=0) < 0 or codes.max(initial=0) > 255:
        return None
    back = (codes.astype(np.float32) / np.float32(255) - m) / s
    return codes.astype(np.uint8) if np.array_equal(back, flat) else None


def weights_bytes(net: Any, n_checkpoints: int, dtype: str) -> int:
    """Bytes of every checkpoint's layer arrays stored as ``dtype``."""
    width = 4 if dtype == "float32" else 2
    per = sum(t.numel() for op in net.ops for t in op.tensors.values())
    return int(per * width * n_checkpoints)


def network_payload(
    run: Any,
    checkpoint_ids: Sequence[int],
    *,
    display: dict[str, Any],
    dtype: str = "float32",
    tables: bool = False,
    progress: bool = True,
    nets: list[Any] | None = None,
) -> dict[str, Any] | None:
    """Everything the front end needs to compare any sample at any of ``checkpoint_ids``.

    Parameters
    ----------
    run
        The run.
    checkpoint_ids
        Run checkpoint indices, in the order of the widget's checkpoint positions.
    display
        How the run's inputs are shown (``RunFacts.display``): normalised images whose pixels
        are exact bytes travel as those bytes.
    dtype : {"float32", "float16"}
        Storage precision of the layer arrays.
    tables
        Also add the per-checkpoint probe mean and neighbour tables (`comparison_tables`).
    progress
        Show a progress bar that disappears when done.
    nets
        The portable descriptions at ``checkpoint_ids`` (`networks`), when the caller has them.

    Returns
    -------
    dict or None
        None when the model is not portable (the caller falls back to the kernel or the bank).
    """
    ids = [int(i) for i in checkpoint_ids]
    nets = networks(run, ids, progress=progress) if nets is None else nets
    if not nets:
        return None
    spec, _ = to_arrays(nets[0], dtype)
    weights = [to_arrays(net, dtype)[1] for net in nets]
    if any(to_arrays(net, dtype)[0] != spec for net in nets[1:]):
        return None  # the architecture changed between checkpoints
    x = to_numpy(run.probe_inputs).reshape(len(run.probe_labels), -1)
    inputs, scale = quantized_inputs(x)
    payload: dict[str, Any] = {
        "spec": spec,
        "weights": weights,
        "inputs": inputs,
        "input_scale": scale,
        "labels": to_numpy(run.probe_labels).astype(np.int32),
    }
    shown = display
    if inputs.dtype != np.uint8 and "mean" in shown:
        codes = normalized_inputs(x, shown["mean"], shown["std"])
        if codes is not None:  # a quarter of the float32 bytes, rebuilt exactly in the page
            normalize = {"mean": shown["mean"], "std": shown["std"]}
            payload.update(inputs=codes, input_scale=1.0, input_normalize=normalize)
    if tables:
        payload.update(comparison_tables(run, ids, progress=progress))
    return payload


def _worst(error: float, other: float) -> float:
    """Return the larger of two errors, where anything not a finite number is infinitely large.

    ``max(0.1, nan)`` is ``0.1`` and ``nan > tol`` is False: a NaN must never pass as small.
    """
    return max(error, other) if math.isfinite(error) and math.isfinite(other) else math.inf


def holds(net: Any, precision: str) -> bool:
    """Whether every layer array of ``net`` is finite once stored at ``precision``.

    A weight beyond float16's range (65504) becomes infinite when rounded; a NaN or infinite
    weight is not finite at any precision.
    """
    dtype = torch.float16 if precision == "float16" else torch.float32
    return all(
        bool(torch.isfinite(t.to(dtype)).all()) for op in net.ops for t in op.tensors.values()
    )


def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest per-sample relative Frobenius error of ``got`` against ``want`` (N, ...).

    Computed in float64 a block of rows at a time, so the float64 copies hold a few megabytes
    instead of three times the chunk.
    """
    worst = 0.0
    for s in range(0, len(want), _ERROR_ROWS):
        w = want[s : s + _ERROR_ROWS].double().flatten(1)
        diff = (got[s : s + _ERROR_ROWS].double().flatten(1) - w).norm(dim=1)
        block = float((diff / w.norm(dim=1).clamp_min(1e-30)).max())
        if not math.isfinite(block):
            return block  # a NaN must reach `_worst`, which `max` would drop
        worst = max(worst, block)
    return worst


_ERROR_ROWS = 256
"""Rows of W_eff `_relative` compares at once (256 MNIST samples: 16 MB in float64)."""


def stored_precision(
    run: Any,
    ids: list[int],
    nets: list[Any],
    precision: str,
    *,
    progress: bool = True,
    n_jobs: int | None = None,
) -> tuple[float, dict[str, np.ndarray] | None]:
    """Measure what storing the layer arrays at ``precision`` does to the page's W_eff.

    For MLPs (``pattern_corrections.supports``) the page also stores the ReLU states the rounded
    weights would get wrong; the error is then measured with them applied, replaying the page
    engine's arithmetic. For other stacks the error is that of the rounded network in PyTorch.
    The probe is checked in row chunks (``_sources.weight_chunks``), so a whole checkpoint's
    W_eff is never held, on ``n_jobs`` CPU threads (default: all cores).

    Returns
    -------
    error : float
        Largest relative error of any probe sample's W_eff or output at any checkpoint; ``inf``
        when a stored weight or any error is not a finite number (a weight that overflows
        float16, a NaN), so that ``not error <= tolerance`` refuses it.
    patterns : dict or None
        ``{checkpoint, sample, op, unit, active}`` arrays of the pinned units (checkpoint is the
        position in ``ids``), or None when the stack is not an MLP.
    """
    x = run.probe_inputs
    x = (x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))).float()
    error, cols, pinned_all = 0.0, [], True
    pairs = list(enumerate(zip(ids, nets, strict=True)))
    desc = f"{precision} check of the page's weights (in memory)"
    with torch_threads(n_jobs):
        for e, (i, net) in tqdm(pairs, desc=desc, leave=False, disable=not progress):
            if not holds(net, precision):
                return math.inf, None
            pinned_all = pinned_all and supports(net)
            for start, exact in _sources.weight_chunks(run, i):
                xc = x[start : start + len(exact)]
                chunk_error, col = _chunk_error(net, xc, exact, precision)
                error = _worst(error, chunk_error)
                if col is not None:
                    at = np.full(len(col[0]), e)
                    cols.append((at, col[0] + start, *col[1:]))
    if not pinned_all:
        return error, None
    names = ("checkpoint", "sample", "op", "unit", "active")
    dtypes = (np.int32, np.int32, np.int32, np.int32, np.uint8)
    patterns = {
        name: np.concatenate([c[k] for c in cols] or [np.zeros(0)]).astype(dtype)
        for k, (name, dtype) in enumerate(zip(names, dtypes, strict=True))
    }
    return error, patterns


def _chunk_error(
    net: Any, x: torch.Tensor, exact: Any, precision: str
) -> tuple[float, tuple[np.ndarray, ...] | None]:
    """Error of ``net`` at ``precision`` on one chunk of probe samples, and its pinned units.

    Returns the largest relative W_eff/output error of the chunk and, for an MLP, the pinned
    units ``(sample, op, unit, active)`` with ``sample`` counted within the chunk.
    """
    want_w, want_out = torch.as_tensor(exact.weight), torch.as_tensor(exact.output)
    col = None
    if supports(net):
        fixed = corrections(net, x.reshape(len(x), -1), precision)
        got_w, got_out = fixed.weight, fixed.output
        col = (np.asarray(fixed.sample), fixed.op, fixed.unit, fixed.active)
    else:
        got = effective_weights(to_module(net, precision), x.reshape(len(x), *net.input_shape))
        got_w, got_out = got.weight, got.output
    error = _worst(
        _relative(got_w.reshape(want_w.shape), want_w),
        _relative(got_out.reshape(want_out.shape), want_out),
    )
    return error, col


def _tables(run: Any, ids: list[int], progress: bool) -> dict[str, Any]:
    """Probe mean W_eff (E, C, D) and neighbour tables (E, N, k) at every checkpoint.

    The probe mean is streamed over row chunks of W_eff; the neighbours come from the isometric
    features, so a whole checkpoint's W_eff is never held. The tables are kept under the centred
    cosine (``neighbors``) and the raw one (``neighbors_raw``), so the page's neighbours follow
    its similarity selector.
    """
    n = len(run.probe_labels)
    means, index, sims, raw_index, raw_sims = [], [], [], [], []
    desc = "probe means, neighbours (kept in the run's analysis store)"
    source = source_of(run)
    for i in tqdm(ids, desc=desc, leave=False, disable=not progress):
        mean = _sources.probe_mean(run, i)
        means.append(mean.reshape(mean.shape[0], -1))
        idx, sim = checkpoint_neighbors(source, i, NEIGHBORS_K)  # the panel's too
        index.append(idx)
        sims.append(sim)
        idx, sim = neighbor_table(source.weight_features(i), NEIGHBORS_K, centered=False)
        raw_index.append(idx)
        raw_sims.append(sim)
    index_dtype = np.int16 if n <= np.iinfo(np.int16).max else np.int32

    def table(idx: list[np.ndarray], sim: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "index": np.stack(idx).astype(index_dtype),
            "similarity": np.stack(sim).astype(np.float16),
        }

    return {
        "probe_mean": np.stack(means).astype(np.float32),
        "neighbors": table(index, sims),
        # the raw similarities are left out (the page's engine computes the k it shows from
        # W_eff), which keeps the page within its budget
        "neighbors_raw": {"index": table(raw_index, raw_sims)["index"]},
    }


TABLES_ENTRY = "comparison_tables"
"""Analysis-store entry of `comparison_tables`, reused while its checkpoints and ``k`` match."""

_TABLES_VERSION = 3


def comparison_tables(
    run: Any, checkpoint_ids: Sequence[int], *, progress: bool = True
) -> dict[str, Any]:
    """Probe means and neighbour tables for a comparison without a kernel, kept with the run.

    What the front end's engine needs to draw the centred comparison and the neighbours without
    a kernel (a saved page, a notebook opened from its saved state, a busy kernel). Computing
    them takes one W_eff pass per checkpoint, so they are kept in the run's analysis store
    (entry `TABLES_ENTRY`) and reused while the checkpoints and ``k`` match.

    Parameters
    ----------
    run
        The run.
    checkpoint_ids
        Run checkpoint indices, in the order of the widget's checkpoint positions.
    progress
        Show a progress bar that disappears when done.

    Returns
    -------
    dict
        ``probe_mean`` (E, C, D) float32, ``neighbors`` ``{index, similarity}`` (E, N, k) by
        centred cosine and ``neighbors_raw`` ``{index}`` by raw cosine.
    """
    ids = [int(i) for i in checkpoint_ids]
    stored = stored_tables(run, ids)
    if stored is not None:
        return stored
    want = {"checkpoint_ids": ids, "k": NEIGHBORS_K, "version": _TABLES_VERSION}
    tables = _tables(run, ids, progress)
    raw = tables["neighbors_raw"]
    arrays = {
        "probe_mean": tables["probe_mean"],
        **tables["neighbors"],
        "raw_index": raw["index"],
    }
    _sources.store_analysis(run, TABLES_ENTRY, arrays, want)
    return tables


def stored_tables(run: Any, checkpoint_ids: Sequence[int]) -> dict[str, Any] | None:
    """Return the comparison tables kept in the run's analysis store for these checkpoints, or None.

    None when nothing is stored, when the entry was made for other checkpoints, another ``k`` or
    another table version, or when its arrays fail the checks of :func:`_tables_problem`.
    """
    ids = [int(i) for i in checkpoint_ids]
    want = {"checkpoint_ids": ids, "k": NEIGHBORS_K, "version": _TABLES_VERSION}
    entry = _sources.analysis_entry(run, TABLES_ENTRY)
    if (
        entry is None
        or {k: entry[1].get(k) for k in want} != want
        or _tables_problem(run, ids, entry[0]) is not None
    ):
        return None
    arrays = entry[0]
    return {
        "probe_mean": arrays["probe_mean"],
        "neighbors": {"index": arrays["index"], "similarity": arrays["similarity"]},
        "neighbors_raw": {"index": arrays["raw_index"]},
    }


def _tables_problem(run: Any, ids: list[int], arrays: dict[str, np.ndarray]) -> str | None:
    """Say what is wrong with stored comparison tables for ``ids``, or None when they fit.

    Checked: every array present, shapes (E, C, D) and (E, N, k) for these checkpoints, classes
    and probe samples, neighbour indices within [0, N), finite means and similarities in [-1, 1].
    A stored table that fails is recomputed, never drawn.
    """
    need = ("probe_mean", "index", "similarity")
    if any(k not in arrays for k in need):
        return f"missing {[k for k in need if k not in arrays]}"
    mean, index, sim = (arrays[k] for k in need)
    n, e, c = len(run.probe_labels), len(ids), len(run.classes)
    if mean.ndim != 3 or mean.shape[:2] != (e, c):
        return f"probe_mean has shape {mean.shape}, not ({e}, {c}, D)"
    if index.shape != (e, n, NEIGHBORS_K) or sim.shape != index.shape:
        return f"neighbour tables have shapes {index.shape}, {sim.shape}, not {(e, n, NEIGHBORS_K)}"
    if index.dtype.kind not in "iu" or (index.size and (index.min() < 0 or index.max() >= n)):
        return f"neighbour indices outside [0, {n})"
    if not (np.isfinite(mean).all() and np.isfinite(sim).all()):
        return "not every value is finite"
    if sim.size and np.abs(sim.astype(np.float32)).max() > 1.001:
        return "similarities outside [-1, 1]"
    return None


def at_precision(payload: dict[str, Any], dtype: str) -> dict[str, Any]:
    """Return the payload with its layer arrays stored as ``dtype``.

    The probe mean stays float32: the centred cosine subtracts it from W_eff, and the difference
    is smaller than either, so rounding the mean would show in the cosines' third digit.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
    spec = dict(payload["spec"])
    spec["dtype"] = dtype
    spec["arrays"] = [{**meta, "dtype": dtype} for meta in spec["arrays"]]
    out = {**payload, "spec": spec}
    out["weights"] = [[a.astype(dtype) for a in row] for row in payload["weights"]]
    return out


def packed(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the payload as a page stores it: weights as checkpoint deltas, arrays as planes.

    Both codecs are lossless (``widgets._packing``); the page decodes them before its engine
    starts.
    """

    def walk(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return _packing.pack_planes(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    rest = {k: walk(v) for k, v in payload.items() if k not in ("spec", "weights")}
    weights = _packing.pack_checkpoints(payload["weights"])
    return {"spec": payload["spec"], "weights": weights, **rest}


def encoded(payload: dict[str, Any], encode: Any) -> dict[str, Any]:
    """Return the payload with every array replaced by ``encode(array)`` (base64 or a buffer)."""

    def walk(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return encode(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return {k: (v if k == "spec" else walk(v)) for k, v in payload.items()}
