"""Exact activation patterns for a portable MLP whose weights are stored at lower precision.

Rounding a network's weights to float16 moves every pre-activation a little; a hidden unit whose
pre-activation is that close to 0 switches between "on" and "off", and the sample's W_eff changes
by a whole rank-one term. On a 64-256-256-10 digits MLP this happens for about 3 % of the probe
samples at each checkpoint (up to a 12 % relative change of W_eff), while the rounding itself
moves W_eff by about 1e-4. So a page that stores float16 weights also stores, for the few
(sample, layer, unit) triples where it matters, the activation state of the float32 network, and
its engine uses that state instead of the one it computes (``js/src/engine/chain.js``).

`corrections` finds those triples by replaying the page engine's arithmetic (float64 dot products,
float32 activations) on the stored weights, layer by layer with earlier corrections applied, and
compares every ReLU's state with the float32 forward pass of PyTorch, which ``effective_weights``
uses. A unit is listed when the states differ or when the replayed pre-activation is within
`MARGIN` (relative to the layer's largest) of 0, where summation order alone could decide. It
also returns the W_eff and outputs the page will show, so the error can be measured, not assumed.

Covered: stacks of ``linear``, ``relu`` and ``affine`` ops (MLPs, with or without bias and
folded BatchNorm). Convolutional stacks are not corrected (`supports` says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from linlens_widgets.lens.portable import PortableNetwork

__all__ = ["MARGIN", "PatternCorrections", "corrections", "supports"]

MARGIN = 1e-6
"""Pre-activations within this fraction of the layer's largest are pinned to the float32 state."""

_KINDS = {"linear", "relu", "affine"}
_DTYPES = {"float32": torch.float32, "float16": torch.float16}


@dataclass
class PatternCorrections:
    """The units whose stored-precision state must be replaced, and what the page then shows.

    Attributes
    ----------
    sample, op, unit : numpy.ndarray
        int32 arrays of equal length M: probe sample, index of the ReLU op in ``net.ops``, unit.
    active : numpy.ndarray
        uint8 (M,): 1 when the float32 network has the unit on (slope 1), else 0.
    weight : torch.Tensor
        (N, C, D) float64: W_eff computed from the stored weights with the corrections applied.
    output : torch.Tensor
        (N, C) float64: the outputs computed the same way.
    """

    sample: np.ndarray
    op: np.ndarray
    unit: np.ndarray
    active: np.ndarray
    weight: torch.Tensor
    output: torch.Tensor


def supports(net: PortableNetwork) -> bool:
    """Whether `corrections` covers ``net`` (only linear, relu and affine ops)."""
    return all(op.kind in _KINDS for op in net.ops)


def _stored(t: torch.Tensor, precision: str) -> torch.Tensor:
    return t.to(_DTYPES[precision]).to(torch.float64)


def _apply(op, h: torch.Tensor, precision: str | None) -> torch.Tensor:
    """One linear or affine op on ``h``; tensors rounded to ``precision`` (None: float32 as is)."""

    def t(role: str) -> torch.Tensor | None:
        value = op.tensors.get(role)
        if value is None:
            return None
        return value if precision is None else _stored(value, precision)

    if op.kind == "linear":
        out = h @ t("weight").T
        bias = t("bias")
        return out if bias is None else out + bias
    return h * t("scale") + t("shift")


def _reference_states(net: PortableNetwork, x: torch.Tensor) -> dict[int, torch.Tensor]:
    """Each ReLU op's on/off states in PyTorch's float32 forward pass."""
    states: dict[int, torch.Tensor] = {}
    h = x.to(torch.float32)
    for k, op in enumerate(net.ops):
        if op.kind == "relu":
            states[k] = h > 0
            h = torch.where(states[k], h, h * float(op.params.get("negative_slope", 0.0)))
        else:
            h = _apply(op, h, None)
    return states


def corrections(net: PortableNetwork, x: torch.Tensor, precision: str) -> PatternCorrections:
    """Find the units to pin for ``net`` stored at ``precision``, and the resulting W_eff.

    Parameters
    ----------
    net : PortableNetwork
        A stack `supports` accepts.
    x : torch.Tensor
        (N, D) probe inputs.
    precision : {"float32", "float16"}
        How the page stores the layer arrays.

    Returns
    -------
    PatternCorrections
    """
    if not supports(net):
        kinds = sorted({op.kind for op in net.ops} - _KINDS)
        raise ValueError(f"pattern corrections cover linear/relu/affine stacks, not {kinds}")
    if precision not in _DTYPES:
        raise ValueError(f"precision must be one of {sorted(_DTYPES)}, got {precision!r}")
    x = x.reshape(len(x), -1)
    reference = _reference_states(net, x)
    h = x.to(torch.float64)
    slopes: dict[int, torch.Tensor] = {}
    found: list[tuple[np.ndarray, ...]] = []
    for k, op in enumerate(net.ops):
        if op.kind != "relu":
            h = _apply(op, h, precision).to(torch.float32).to(torch.float64)
            continue
        neg = float(op.params.get("negative_slope", 0.0))
        want = reference[k]
        scale = h.abs().amax(dim=1, keepdim=True)
        pinned = ((h > 0) != want) | (h.abs() <= MARGIN * scale)
        s, u = torch.nonzero(pinned, as_tuple=True)
        found.append((s.numpy(), np.full(len(s), k), u.numpy(), want[s, u].numpy()))
        slopes[k] = torch.where(want, 1.0, neg).to(torch.float64)
        h = (h * slopes[k]).to(torch.float32).to(torch.float64)
    weight = _chain(net, slopes, precision, len(x))
    parts = [np.concatenate(col) for col in zip(*found, strict=True)] or [np.zeros(0)] * 4
    return PatternCorrections(
        sample=parts[0].astype(np.int32),
        op=parts[1].astype(np.int32),
        unit=parts[2].astype(np.int32),
        active=parts[3].astype(np.uint8),
        weight=weight,
        output=h,
    )


def _chain(
    net: PortableNetwork, slopes: dict[int, torch.Tensor], precision: str, n: int
) -> torch.Tensor:
    """W_eff = W_L D_{L-1} ... W_1 from the stored weights and the given slopes, (N, C, D)."""
    g: torch.Tensor | None = None  # (N, C, width) once the first linear op is met
    for k in range(len(net.ops) - 1, -1, -1):
        op = net.ops[k]
        if op.kind == "linear":
            w = _stored(op.tensors["weight"], precision)
            g = w.expand(n, *w.shape) if g is None else g @ w
        elif g is None:  # a relu or affine after the last linear: diagonal from the right
            size = op.out_shape[0]
            g = torch.eye(size, dtype=torch.float64).expand(n, size, size)
            g = g * (
                slopes[k][:, None, :]
                if op.kind == "relu"
                else _stored(op.tensors["scale"], precision)
            )
        elif op.kind == "relu":
            g = g * slopes[k][:, None, :]
        else:
            g = g * _stored(op.tensors["scale"], precision)
    assert g is not None
    return g
