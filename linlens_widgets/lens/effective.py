"""Exact effective weights of piecewise-linear networks: ``f(x) = W_eff(x) x + b_eff(x)``.

At every input a ReLU network is an affine map. Its matrix ``W_eff(x)`` is the input-output
Jacobian, ``W_L D_{L-1} W_{L-1} ... D_1 W_1`` for an MLP with ReLU masks ``D_l``, and its offset is
``b_eff(x) = f(x) - W_eff(x) x``. `effective_weights` computes both exactly, by one of two paths
that give the same answer:

* the **fast path**, for plain (nested) ``nn.Sequential`` stacks of known layers, walks the stack
  right to left with one batched GEMM (or transposed convolution) per layer and in-place masks;
* the **general path**, for anything else (residual blocks, custom modules), takes per-sample
  Jacobians with ``torch.func`` after checking, op by op on one sample, that the model really is
  piecewise-linear.

`weight_features` gives an isometric, usually much smaller, representation of the flattened
``W_eff`` for distances, cosines and PCA, without materializing ``W_eff``.

Devices: the computation runs on ``device`` (default: the model's device), chunk by chunk; the
results are gathered on the device of ``x``, so GPU memory stays bounded by ``batch_size``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import torch
from torch import nn

from linlens_widgets.lens import _fast, _general
from linlens_widgets.lens._opcheck import check_ops
from linlens_widgets.lens.layers import (
    LINEAR_LAYERS,
    MAXPOOL_LAYERS,
    SMOOTH_LAYERS,
    UNIT_LAYERS,
    TrainingModeError,
    UnsupportedLayerError,
    check_eval_mode,
    describe_module,
    iter_leaves,
)
from linlens_widgets.lens.patterns import record_patterns

__all__ = ["EffectiveWeights", "effective_weights", "iter_effective_weights", "weight_features"]

# Default chunk budgets, in elements of the largest per-chunk working tensor (float32: 4 bytes
# each). The fast path's largest buffers are (n*C, widest layer) and big chunks keep the GEMMs
# efficient when threads compete for cores; the general path materializes more per sample.
_FAST_BUDGET = 1 << 23
_GENERAL_BUDGET = 1 << 22


@dataclass(frozen=True)
class EffectiveWeights:
    """Effective weights, offsets and outputs of a network at N inputs.

    Attributes
    ----------
    weight : torch.Tensor
        ``(N, C, *input_shape)``: the Jacobian ``df/dx`` at each sample.
    bias : torch.Tensor or None
        ``(N, C)``: ``f(x) - W_eff(x) x``; None when the network has no offset anywhere (no
        Linear/Conv bias, no BatchNorm, no additive constant).
    output : torch.Tensor
        ``(N, C)``: ``f(x)``, flattened per sample.
    patterns : list[torch.Tensor] or None
        Boolean activation masks ``(N, units)`` per unit layer (see `lens.patterns`), when asked.
    exact : bool
        False only when ``linearize=True`` met a layer that is not piecewise-linear; ``weight`` is
        then the local linearization.

    >>> import torch, torch.nn as nn
    >>> net = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    >>> ew = effective_weights(net, torch.randn(5, 4))
    >>> tuple(ew.weight.shape), ew.bias is None, tuple(ew.flat().shape), len(ew)
    ((5, 2, 4), True, (5, 8), 5)
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    output: torch.Tensor
    patterns: list[torch.Tensor] | None
    exact: bool

    def __len__(self) -> int:
        return self.weight.shape[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, ``weight.shape[2:]``."""
        return tuple(self.weight.shape[2:])

    @property
    def n_outputs(self) -> int:
        """Number of outputs C."""
        return self.weight.shape[1]

    def flat(self) -> torch.Tensor:
        """Flattened weights ``(N, C*D)``, a view when possible.

        >>> import torch, torch.nn as nn
        >>> ew = effective_weights(nn.Linear(3, 2), torch.zeros(4, 3))
        >>> tuple(ew.flat().shape)
        (4, 6)
        """
        return self.weight.reshape(len(self), -1)

    def reshape_images(self, image_shape: tuple[int, ...]) -> torch.Tensor:
        """Weights as images ``(N, C, *image_shape)``, for display of each class row.

        >>> import torch, torch.nn as nn
        >>> ew = effective_weights(nn.Linear(6, 2), torch.zeros(1, 6))
        >>> tuple(ew.reshape_images((2, 3)).shape)
        (1, 2, 2, 3)
        """
        d = math.prod(self.input_shape)
        if math.prod(image_shape) != d:
            raise ValueError(f"image shape {tuple(image_shape)} does not hold {d} input features")
        return self.weight.reshape(len(self), self.n_outputs, *image_shape)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the affine maps at ``x`` (same N): ``W_eff x + b_eff``, ``(N, C)``.

        At the inputs the weights were computed at, this equals ``output``.

        >>> import torch, torch.nn as nn
        >>> x = torch.randn(3, 4)
        >>> ew = effective_weights(nn.Sequential(nn.Linear(4, 2), nn.ReLU()), x)
        >>> torch.allclose(ew.apply(x), ew.output, atol=1e-6)
        True
        """
        flat_x = x.reshape(len(self), -1, 1).to(self.weight)
        out = torch.bmm(self.weight.reshape(len(self), self.n_outputs, -1), flat_x).squeeze(-1)
        return out if self.bias is None else out + self.bias

    def __getitem__(self, index: int | slice | torch.Tensor) -> EffectiveWeights:
        """Select samples (an int keeps the sample dimension).

        >>> import torch, torch.nn as nn
        >>> ew = effective_weights(nn.Linear(3, 2), torch.zeros(5, 3))
        >>> len(ew[1:3]), len(ew[0])
        (2, 1)
        """
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        patterns = None if self.patterns is None else [p[index] for p in self.patterns]
        return replace(
            self,
            weight=self.weight[index],
            bias=None if self.bias is None else self.bias[index],
            output=self.output[index],
            patterns=patterns,
        )


def effective_weights(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    linearize: bool = False,
    return_patterns: bool = False,
) -> EffectiveWeights:
    """Exact effective weights ``W_eff(x)`` (the Jacobian) and offsets ``b_eff(x)``.

    Parameters
    ----------
    model : nn.Module
        A piecewise-linear network: Linear, Conv1d/2d, ReLU, LeakyReLU, PReLU, MaxPool/AvgPool
        (1d/2d), AdaptiveAvgPool, Flatten, Unflatten, Identity, and in eval mode Dropout and
        BatchNorm, in (nested) ``nn.Sequential`` stacks or custom modules (e.g. residual adds).
        It is never modified and its mode is never switched.
    x : torch.Tensor
        Inputs ``(N, *input_shape)``; cast to the model's dtype.
    batch_size : int, optional
        Samples per chunk; memory is bounded by it, not by N. Default: chosen from the layer
        sizes (a few MB per chunk).
    device : torch.device or str, optional
        Where to compute (default: the model's device, which it must match when given). Inputs
        move there chunk by chunk; results are returned on ``x``'s device.
    linearize : bool, default False
        Accept layers that are not piecewise-linear (GELU, Tanh, LayerNorm, ...) and return the
        local linearization, with ``exact=False``.
    return_patterns : bool, default False
        Also return the boolean activation patterns of the unit layers.

    Returns
    -------
    EffectiveWeights

    Raises
    ------
    UnsupportedLayerError
        A layer or op is not piecewise-linear (message names module path, type and op).
    TrainingModeError
        Dropout/BatchNorm in training mode: call ``model.eval()``.
    ValueError
        ``x`` does not fit the model's first layer (message gives expected and actual shapes).

    >>> import torch, torch.nn as nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> x = torch.randn(10, 4)
    >>> ew = effective_weights(net, x)
    >>> tuple(ew.weight.shape), tuple(ew.bias.shape), ew.exact
    ((10, 3, 4), (10, 3), True)
    >>> torch.allclose(ew.weight[0], torch.autograd.functional.jacobian(net, x[:1])[0, :, 0])
    True
    """
    engine = _Engine(model, x, device=device, linearize=linearize)
    return engine.collect(batch_size=batch_size, return_patterns=return_patterns)


def iter_effective_weights(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    linearize: bool = False,
    return_patterns: bool = False,
) -> Iterator[EffectiveWeights]:
    """Effective weights chunk by chunk, for streaming consumers (PCA, on-disk stores).

    Same parameters as `effective_weights`; yields one `EffectiveWeights` per chunk of at most
    ``batch_size`` samples, in order, on the computation device. Checks run before the first
    chunk is yielded.

    >>> import torch, torch.nn as nn
    >>> chunks = iter_effective_weights(nn.Linear(3, 2), torch.zeros(5, 3), batch_size=2)
    >>> [len(c) for c in chunks]
    [2, 2, 1]
    """
    engine = _Engine(model, x, device=device, linearize=linearize)
    for _, chunk in engine.run(batch_size=batch_size, return_patterns=return_patterns):
        yield chunk


def weight_features(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Isometric features of the effective weights: ``(N, k)``.

    Inner products of feature rows equal Frobenius inner products of the effective weights,
    ``<F_a, F_b> = <W_eff(a), W_eff(b)>_F``, so Euclidean distances, cosines and PCA computed on
    the features are those of the flattened ``W_eff``. When the stack starts (after an optional
    Flatten) with a Linear ``W1`` of ``h1 < D`` outputs, ``W_eff(x) = M(x) W1`` and, with
    ``W1 W1^T = L L^T`` (Cholesky in float64; QR of ``W1^T`` when ill-conditioned), the features
    are ``flatten(M(x) L)`` of size ``C*h1``, computed without forming ``W_eff``. Otherwise they
    are the flattened ``W_eff`` (``k = C*D``).

    Parameters
    ----------
    model : nn.Module
        A piecewise-linear network (as for `effective_weights`).
    x : torch.Tensor
        Inputs ``(N, *input_shape)``.
    batch_size : int, optional
        Samples per chunk; memory beyond the result is bounded by it.
    device : torch.device or str, optional
        Where to compute (default: the model's device); the result is on ``x``'s device.

    Returns
    -------
    torch.Tensor
        ``(N, k)`` in the model's dtype.

    >>> import torch, torch.nn as nn
    >>> net = nn.Sequential(nn.Linear(20, 5, bias=False), nn.ReLU(), nn.Linear(5, 3, bias=False))
    >>> x = torch.randn(4, 20)
    >>> feats = weight_features(net, x)
    >>> tuple(feats.shape)
    (4, 15)
    >>> w = effective_weights(net, x).flat()
    >>> torch.allclose(feats @ feats.T, w @ w.T, atol=1e-4)
    True
    """
    engine = _Engine(model, x, device=device, linearize=False)
    return engine.features(batch_size=batch_size)


def _check_finite(x: torch.Tensor) -> None:
    """Refuse NaN/inf inputs, naming the rows: they would give finite-looking effective weights.

    A ReLU network's Jacobian at a NaN input is the weight product of whatever pattern the NaN
    comparisons produce, a finite matrix unrelated to any input.
    """
    if not (x.is_floating_point() or x.is_complex()):
        return
    bad = ~torch.isfinite(x.reshape(x.shape[0], -1)).all(dim=1)
    if bool(bad.any()):
        rows = torch.nonzero(bad).flatten().tolist()
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        raise ValueError(
            f"x holds NaN or infinite values in {len(rows)} sample(s) (rows {shown}); "
            "effective weights are defined only at finite inputs"
        )


class _Engine:
    """Validated model and inputs, with the path chosen (fast chain or torch.func)."""

    def __init__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        *,
        device: torch.device | str | None,
        linearize: bool,
    ) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a batch of inputs (N, *input_shape); got {got}")
        if x.shape[0] == 0:
            raise ValueError(f"x holds no samples: shape {tuple(x.shape)}")
        _check_finite(x)
        self.model = model
        self.x = x
        self.device = _compute_device(model, x, device)
        self.dtype = _model_dtype(model, x)
        self.linearize = linearize
        check_eval_mode(model)
        self.plan = _fast.make_plan(model)
        if isinstance(model, nn.Sequential):
            leaves = list(iter_leaves(model))
            _check_input_shape(leaves, x)
            if self.plan is None and not linearize:
                _refuse_smooth_leaves(leaves)
        self.exact = True
        self.has_bias = True
        self.n_out = 0
        self.widest = 0
        self.use_vmap = True
        if self.plan is not None:
            self._probe_fast()
        if self.plan is None:
            self._check_general()

    def _probe_fast(self) -> None:
        """One-sample forward: output size and widest layer, or fall back to the general path."""
        assert self.plan is not None
        sample = self.x[:1].to(self.device, self.dtype)
        try:
            with torch.no_grad():
                probe = _fast.forward(self.plan, sample, patterns=False)
        except _fast.NotFastError:
            self.plan = None
            return
        self.has_bias = self.plan.has_bias
        self.n_out = probe.output.numel()
        shapes = [*probe.in_shapes, probe.output.shape]
        if self.plan.first_linear is not None:  # its adjoint writes straight into the result
            shapes = shapes[self.plan.first_linear + 1 :]
        self.widest = max(math.prod(s[1:]) for s in shapes)

    def _check_general(self) -> None:
        sample = self.x[:1].to(self.device, self.dtype)
        try:
            report = check_ops(self.model, sample)
        except (RuntimeError, IndexError) as error:
            raise ValueError(
                f"model could not run on input of shape {tuple(self.x.shape)}: {error}"
            ) from error
        if report.random_ops:
            kind = TrainingModeError if self.model.training else UnsupportedLayerError
            raise kind(
                f"{report.random_ops[0].message()}; the network is not a fixed function of its "
                "input" + ("; call model.eval() first" if self.model.training else "")
            )
        if report.findings:
            if not self.linearize:
                raise UnsupportedLayerError(
                    f"{report.findings[0].message()}; the engine is exact only for "
                    "piecewise-linear networks (pass linearize=True for the local linearization)"
                )
            self.exact = False
        self.has_bias = report.has_offset or not self.exact
        self.n_out = report.output.numel() if isinstance(report.output, torch.Tensor) else 0
        self.use_vmap = not (report.ops & _general.UNBATCHABLE_OPS)
        _general.check_per_sample(self.model, self.x[:2].to(self.device, self.dtype))

    def _chunk_size(self, batch_size: int | None, per_sample: int, budget: int) -> int:
        if batch_size is not None:
            if batch_size < 1:
                raise ValueError(f"batch_size must be positive; got {batch_size}")
            return batch_size
        n = self.x.shape[0]  # >= 1: the constructor refuses an empty batch
        largest = max(1, min(n, budget // max(1, per_sample)))
        return -(-n // -(-n // largest))  # equal chunks, none larger than that

    def _chunks(self, size: int) -> Iterator[tuple[int, torch.Tensor]]:
        for start in range(0, self.x.shape[0], size):
            yield start, self.x[start : start + size].to(self.device, self.dtype)

    def run(
        self,
        *,
        batch_size: int | None,
        return_patterns: bool,
        weight_out: torch.Tensor | None = None,
    ) -> Iterator[tuple[int, EffectiveWeights]]:
        """Yield ``(start, chunk)``; fast-path chunks write into ``weight_out`` when given."""
        if self.plan is not None:  # the one-sample probe has shown that the chain applies
            yield from self._run_fast(batch_size, return_patterns, weight_out)
        else:
            yield from self._run_general(batch_size, return_patterns)

    def collect(self, *, batch_size: int | None, return_patterns: bool) -> EffectiveWeights:
        """All chunks gathered on ``x``'s device, weights written in place when possible."""
        n = self.x.shape[0]  # >= 1: the constructor refuses an empty batch
        weight = torch.empty(
            (n, self.n_out, *self.x.shape[1:]), dtype=self.dtype, device=self.x.device
        )
        sink = weight if self.x.device == self.device else None
        outputs, biases, patterns = [], [], []
        exact = True
        for start, chunk in self.run(
            batch_size=batch_size, return_patterns=return_patterns, weight_out=sink
        ):
            target = weight[start : start + len(chunk)]
            if chunk.weight.data_ptr() != target.data_ptr():
                target.copy_(chunk.weight)
            outputs.append(chunk.output.to(self.x.device))
            if chunk.bias is not None:
                biases.append(chunk.bias.to(self.x.device))
            if chunk.patterns is not None:
                patterns.append([p.to(self.x.device) for p in chunk.patterns])
            exact = exact and chunk.exact
        return EffectiveWeights(
            weight=weight,
            bias=torch.cat(biases) if biases else None,
            output=torch.cat(outputs),
            patterns=[torch.cat(layer) for layer in zip(*patterns, strict=True)]
            if return_patterns
            else None,
            exact=exact,
        )

    def _run_fast(
        self, batch_size: int | None, return_patterns: bool, weight_out: torch.Tensor | None
    ) -> Iterator[tuple[int, EffectiveWeights]]:
        assert self.plan is not None
        size = self._chunk_size(batch_size, self.n_out * self.widest, _FAST_BUDGET)
        buffers = _fast.Buffers()
        in_shape = tuple(self.x.shape[1:])
        with torch.no_grad():
            for start, xc in self._chunks(size):
                n = xc.shape[0]
                trace = _fast.forward(self.plan, xc, patterns=return_patterns)
                if weight_out is not None:
                    out = weight_out[start : start + n].view(n * self.n_out, *in_shape)
                else:
                    out = torch.empty(
                        (n * self.n_out, *in_shape), dtype=self.dtype, device=self.device
                    )
                weight = _fast.chain(self.plan, trace, self.n_out, buffers, out=out)
                pats = trace.patterns if return_patterns else None
                weight = weight.view(n, self.n_out, *in_shape)
                yield start, self._result(weight, xc, trace.output, pats)

    def _run_general(
        self, batch_size: int | None, return_patterns: bool
    ) -> Iterator[tuple[int, EffectiveWeights]]:
        per_sample = self.n_out * math.prod(self.x.shape[1:])
        size = self._chunk_size(batch_size, per_sample, _GENERAL_BUDGET)
        for start, xc in self._chunks(size):
            weight, output = _general.jacobian_chunk(self.model, xc, use_vmap=self.use_vmap)
            patterns = record_patterns(self.model, xc)[0] if return_patterns else None
            yield start, self._result(weight, xc, output, patterns)

    def _result(
        self,
        weight: torch.Tensor,
        xc: torch.Tensor,
        output: torch.Tensor,
        patterns: list[torch.Tensor] | None,
    ) -> EffectiveWeights:
        n = xc.shape[0]
        output = output.reshape(n, -1)
        bias = _fast.bias_of(weight, xc, output, output.shape[1]) if self.has_bias else None
        return EffectiveWeights(weight, bias, output, patterns, self.exact)

    def features(self, *, batch_size: int | None) -> torch.Tensor:
        """Isometric features, folded through the first Linear when that is smaller."""
        fold = self._fold_index()
        if fold is None:
            return self._flat_features(batch_size)
        assert self.plan is not None
        first = self.plan.leaves[fold][1]
        factor = _gram_factor(first.weight.detach()).to(self.device, self.dtype)
        size = self._chunk_size(batch_size, self.n_out * self.widest, _FAST_BUDGET)
        h1 = first.weight.shape[0]
        result: torch.Tensor | None = None
        buffers = _fast.Buffers()
        with torch.no_grad():
            for start, xc in self._chunks(size):
                trace = _fast.forward(self.plan, xc, patterns=False)
                n, n_out = xc.shape[0], trace.output[0].numel()
                if result is None:
                    result = torch.empty(
                        (self.x.shape[0], n_out * h1), dtype=self.dtype, device=self.x.device
                    )
                m = _fast.chain(self.plan, trace, n_out, buffers, stop=fold + 1)
                target = result[start : start + n]
                if target.device == m.device:
                    torch.mm(m.view(n * n_out, h1), factor, out=target.view(n * n_out, h1))
                else:
                    target.copy_(torch.mm(m.view(n * n_out, h1), factor).view(n, -1))
        assert result is not None
        return result

    def _fold_index(self) -> int | None:
        if self.plan is None:
            return None
        index = self.plan.first_linear
        if index is None:
            return None
        weight = self.plan.leaves[index][1].weight
        return index if weight.shape[0] < weight.shape[1] else None

    def _flat_features(self, batch_size: int | None) -> torch.Tensor:
        n, d = self.x.shape[0], math.prod(self.x.shape[1:])
        result = torch.empty((n, self.n_out * d), dtype=self.dtype, device=self.x.device)
        sink = (
            result.view(n, self.n_out, *self.x.shape[1:]) if self.x.device == self.device else None
        )
        for start, chunk in self.run(batch_size=batch_size, return_patterns=False, weight_out=sink):
            target = result[start : start + len(chunk)]
            if chunk.weight.data_ptr() != target.data_ptr():
                target.copy_(chunk.flat())
        return result


def _gram_factor(weight: torch.Tensor) -> torch.Tensor:
    """``L`` with ``L L^T = W W^T`` (h x h), in float64: Cholesky, or QR when ill-conditioned."""
    w = weight.to(torch.float64)
    factor, info = torch.linalg.cholesky_ex(w @ w.T)
    diag = factor.diagonal().abs()
    if int(info) == 0 and bool(diag.min() > 1e-6 * diag.max()):
        return factor
    _, r = torch.linalg.qr(w.T)
    return r.T


def _model_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return x.device


def _compute_device(
    model: nn.Module, x: torch.Tensor, device: torch.device | str | None
) -> torch.device:
    """Pick the compute device: ``device`` if given (it must hold the model), else the model's."""
    model_device = _model_device(model, x)
    if device is None:
        return model_device
    wanted = torch.device(device)
    has_state = any(True for _ in (*model.parameters(), *model.buffers()))
    same = wanted.type == model_device.type and (
        wanted.index is None or model_device.index is None or wanted.index == model_device.index
    )
    if has_state and not same:
        raise ValueError(
            f"the model is on {model_device} but device={str(wanted)!r} was asked; move the model "
            "there first (the engine never moves or copies it) or leave device=None"
        )
    return model_device if has_state else wanted


def _model_dtype(model: nn.Module, x: torch.Tensor) -> torch.dtype:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return x.dtype if x.is_floating_point() else torch.get_default_dtype()


def _refuse_smooth_leaves(leaves: list[tuple[str, nn.Module]]) -> None:
    for path, module in leaves:
        if isinstance(module, SMOOTH_LAYERS):
            raise UnsupportedLayerError(
                f"{describe_module(path, module)} is not piecewise-linear; the engine is exact "
                "only for piecewise-linear networks (pass linearize=True for the local "
                "linearization)"
            )


def _check_input_shape(leaves: list[tuple[str, nn.Module]], x: torch.Tensor) -> None:
    """Compare ``x`` with what the first shape-defining layer expects (meta tensors, no compute)."""
    h = torch.empty(x.shape, device="meta")
    got = tuple(x.shape)
    for path, module in leaves:
        name = describe_module(path, module)
        if isinstance(module, nn.Linear):
            if h.dim() < 2 or h.shape[-1] != module.in_features:
                raise ValueError(
                    f"first layer {name} expects inputs of shape (N, {module.in_features}) "
                    f"(in_features={module.in_features}){_via(got, h)}; got {got}"
                )
            return
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            ndim = 3 if isinstance(module, nn.Conv1d) else 4
            spatial = "L" if ndim == 3 else "H, W"
            if h.dim() != ndim or h.shape[1] != module.in_channels:
                raise ValueError(
                    f"first layer {name} expects inputs of shape (N, {module.in_channels}, "
                    f"{spatial}) (in_channels={module.in_channels}){_via(got, h)}; got {got}"
                )
            return
        if isinstance(module, nn.Unflatten):
            size = math.prod(module.unflattened_size)
            dim = module.dim if isinstance(module.dim, int) else 1
            if h.dim() <= dim or h.shape[dim] != size:
                expected = "(N, " + ", ".join(["..."] * (dim - 1) + [str(size)]) + ")"
                raise ValueError(
                    f"first layer {name} expects inputs of shape {expected} "
                    f"(unflattened_size={tuple(module.unflattened_size)}){_via(got, h)}; "
                    f"got {got}"
                )
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and (
            h.dim() < 2 or h.shape[1] != module.num_features
        ):
            raise ValueError(
                f"first layer {name} expects {module.num_features} channels in dimension 1"
                f"{_via(got, h)}; got {got}"
            )
        elif not isinstance(module, (*LINEAR_LAYERS, *UNIT_LAYERS, *MAXPOOL_LAYERS)):
            return
        try:
            h = module(h)
        except (RuntimeError, ValueError, IndexError):
            return


def _via(got: tuple[int, ...], h: torch.Tensor) -> str:
    return "" if tuple(h.shape) == got else f" (after reshaping layers: {tuple(h.shape)})"
