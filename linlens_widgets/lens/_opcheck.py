"""Check, op by op, that a model computes a piecewise-affine function of its input.

Used by the general engine path for models whose modules are not all known layer types (residual
blocks, custom ``forward`` code). One forward of a single sample runs under a
``TorchDispatchMode`` that sees every aten op, while forward hooks keep the path of the module
whose ``forward`` is running. Each tensor carries a *level* with respect to the input x:

* ``CONST`` - does not depend on x (parameters, buffers, constants);
* ``STEP``  - piecewise constant in x (masks from comparisons, argmax indices, integers);
* ``AFFINE`` - piecewise affine in x.

An op applied to an AFFINE tensor must be on the allow-list (linear ops, reshapes, ReLU-like and
max-like selections); products of two AFFINE tensors, division by one, and smooth functions (tanh,
exp, softmax, layer_norm, training-mode batch norm, ...) are findings. Any op on CONST or STEP
tensors is fine: a smooth function of a constant is a constant. Random ops are always findings.
The same pass notes whether an additive offset (a bias) ever reaches the output path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakTensorKeyDictionary

from linlens_widgets.lens.layers import describe_module

CONST, STEP, AFFINE = 0, 1, 2


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Ops that map AFFINE inputs to AFFINE outputs (linear, reshaping, or piecewise-linear selection).
_AFFINE_OK = _words(
    """
    add sub rsub neg mul div sum mean cumsum addmm addmv addbmm baddbmm mm bmm mv dot matmul
    linear einsum convolution _convolution avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d
    _adaptive_avg_pool2d adaptive_avg_pool2d _adaptive_avg_pool3d native_batch_norm
    _native_batch_norm_legit_no_training _native_batch_norm_legit cudnn_batch_norm
    miopen_batch_norm view _unsafe_view reshape _reshape_alias expand expand_as permute transpose
    t squeeze unsqueeze flatten unflatten clone contiguous _to_copy to copy_ copy detach alias
    lift_fresh slice select narrow index_select index gather cat stack split split_with_sizes
    chunk unbind as_strided repeat flip roll constant_pad_nd pad reflection_pad1d reflection_pad2d
    replication_pad1d replication_pad2d _pad_circular zero_ fill_ fill zeros_like ones_like
    empty_like new_zeros new_empty new_ones new_full full_like masked_fill scatter scatter_add
    index_put index_put_ _index_put_impl_ index_add view_as movedim diagonal tril triu relu relu_
    threshold leaky_relu leaky_relu_ _prelu_kernel prelu hardtanh hardtanh_ relu6 clamp clamp_
    clamp_min clamp_min_ clamp_max clamp_max_ max_pool1d max_pool2d max_pool1d_with_indices
    max_pool2d_with_indices max_pool3d_with_indices adaptive_max_pool1d adaptive_max_pool2d max
    min maximum minimum amax amin abs where sort topk kthvalue median nanmedian cummax cummin
    masked_select add_ sub_ mul_ div_ neg_ set_ resize_ empty_strided unfold im2col col2im
    upsample_nearest1d upsample_nearest2d _upsample_nearest_exact1d _upsample_nearest_exact2d
    upsample_linear1d upsample_bilinear2d pixel_shuffle pixel_unshuffle channel_shuffle
    max_unpool2d max_unpool1d
    """
)

# Ops whose outputs are piecewise constant in x whatever their inputs.
_STEP_OPS = _words(
    """
    gt ge lt le eq ne sign sgn argmax argmin floor ceil round trunc logical_and logical_or
    logical_not logical_xor isnan isinf isfinite heaviside bitwise_and bitwise_or bitwise_not
    nonzero searchsorted bucketize frac
    """
)

_RANDOM_OPS = _words(
    """
    bernoulli bernoulli_ native_dropout rand randn randint rand_like randn_like randint_like
    normal normal_ uniform_ randperm multinomial exponential_ geometric_ cauchy_ log_normal_
    random_ poisson
    """
)

# Bilinear ops: the listed argument positions must not all be AFFINE.
_BILINEAR_ARGS: dict[str, tuple[int, ...]] = {
    "mul": (0, 1),
    "mul_": (0, 1),
    "mm": (0, 1),
    "bmm": (0, 1),
    "mv": (0, 1),
    "dot": (0, 1),
    "matmul": (0, 1),
    "addmm": (1, 2),
    "addmv": (1, 2),
    "addbmm": (1, 2),
    "baddbmm": (1, 2),
    "convolution": (0, 1),
    "_convolution": (0, 1),
}

# Ops where only these arguments may add an offset (others multiply).
_OFFSET_ARGS: dict[str, tuple[int, ...]] = {
    "addmm": (0,),
    "addmv": (0,),
    "addbmm": (0,),
    "baddbmm": (0,),
    "convolution": (2,),
    "_convolution": (2,),
    "clamp": (1, 2),
    "clamp_": (1, 2),
    "clamp_min": (1,),
    "clamp_min_": (1,),
    "clamp_max": (1,),
    "clamp_max_": (1,),
    "hardtanh": (1, 2),
    "hardtanh_": (1, 2),
    "threshold": (2,),
}

# Ops that combine their operands additively (any non-affine floating operand is an offset).
_ADDITIVE_OPS = _words(
    """
    add add_ sub sub_ rsub cat stack where maximum minimum max min masked_fill fill fill_
    constant_pad_nd index_put index_put_ _index_put_impl_ scatter scatter_add index_add copy_
    """
)

_BATCHNORM_OPS = frozenset(
    ["native_batch_norm", "_native_batch_norm_legit", "cudnn_batch_norm", "miopen_batch_norm"]
)


@dataclass
class Finding:
    """One op that breaks piecewise linearity, with the module it ran in."""

    module: str
    op: str
    reason: str

    def message(self) -> str:
        """Human-readable description naming module path, type and op."""
        return f"{self.module} calls aten.{self.op}, which {self.reason}"


@dataclass
class OpReport:
    """Result of `check_ops`: findings (empty when exact) and whether an offset was seen."""

    findings: list[Finding] = field(default_factory=list)
    random_ops: list[Finding] = field(default_factory=list)
    has_offset: bool = False
    output: torch.Tensor | None = None
    ops: set[str] = field(default_factory=set)


class _LevelMode(TorchDispatchMode):
    """Dispatch mode that propagates CONST/STEP/AFFINE levels and records findings."""

    def __init__(self, report: OpReport, stack: list[str]) -> None:
        super().__init__()
        self.report = report
        self.stack = stack
        self.levels = WeakTensorKeyDictionary()

    def level(self, value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return self.levels.get(value, CONST)
        return CONST

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        self.report.ops.add(name)
        if name in _RANDOM_OPS:
            self._find(self.report.random_ops, name, "is random")
        flat_args, _ = tree_flatten((args, kwargs))
        in_level = max((self.level(a) for a in flat_args), default=CONST)
        out = func(*args, **kwargs)
        if in_level == CONST:
            return out
        out_level = self._out_level(name, args, kwargs, in_level)
        flat_out, _ = tree_flatten(out)
        if name.endswith("_") or "out" in kwargs:
            flat_out = [*flat_out, *(a for a in flat_args[:1] if isinstance(a, torch.Tensor))]
        for tensor in flat_out:
            if isinstance(tensor, torch.Tensor):
                level = out_level if tensor.is_floating_point() else min(out_level, STEP)
                self.levels[tensor] = max(level, self.levels.get(tensor, CONST))
        return out

    def _out_level(self, name: str, args: Any, kwargs: dict[str, Any], in_level: int) -> int:
        if name in _STEP_OPS or in_level == STEP:
            return STEP
        if name not in _AFFINE_OK and not (name.endswith("_") and name[:-1] in _AFFINE_OK):
            self._find(self.report.findings, name, "is not piecewise-linear")
            return AFFINE
        self._check_affine_use(name, args, kwargs)
        return AFFINE

    def _check_affine_use(self, name: str, args: Any, kwargs: dict[str, Any]) -> None:
        levels = [self.level(a) for a in args]
        bilinear = _BILINEAR_ARGS.get(name)
        if bilinear and all(i < len(levels) and levels[i] == AFFINE for i in bilinear):
            self._find(self.report.findings, name, "multiplies two input-dependent tensors")
        if name in ("div", "div_") and len(levels) > 1 and levels[1] == AFFINE:
            self._find(self.report.findings, name, "divides by an input-dependent tensor")
        if name in _BATCHNORM_OPS and _bn_training(name, args, kwargs):
            self._find(self.report.findings, name, "normalises with batch statistics")
        if not self.report.has_offset:
            self.report.has_offset = self._adds_offset(name, args, kwargs)

    def _adds_offset(self, name: str, args: Any, kwargs: dict[str, Any]) -> bool:
        if name in _BATCHNORM_OPS or name == "_native_batch_norm_legit_no_training":
            return True
        if name in _OFFSET_ARGS:
            positions = _OFFSET_ARGS[name]
            candidates = [args[i] for i in positions if i < len(args)]
        elif name in _ADDITIVE_OPS:
            candidates = [*args, *kwargs.values()]
            candidates = [c for item in candidates for c in tree_flatten(item)[0]]
        else:
            return False
        return any(self._is_offset(c) for c in candidates)

    def _is_offset(self, value: Any) -> bool:
        if isinstance(value, torch.Tensor):
            if not value.is_floating_point() or self.level(value) == AFFINE:
                return False
            return self.level(value) == STEP or bool(torch.any(value != 0))
        if isinstance(value, bool):
            return False
        return isinstance(value, (int, float)) and value != 0

    def _find(self, into: list[Finding], op: str, reason: str) -> None:
        into.append(Finding(self.stack[-1], op, reason))


def _bn_training(name: str, args: Any, kwargs: dict[str, Any]) -> bool:
    if name == "_native_batch_norm_legit":
        return bool(args[5]) if len(args) > 5 else bool(kwargs.get("training", True))
    return bool(args[5]) if len(args) > 5 else bool(kwargs.get("training", False))


def check_ops(model: nn.Module, sample: torch.Tensor) -> OpReport:
    """Run one forward of ``sample`` (batch of one) and classify every op on the input's path.

    Parameters
    ----------
    model : nn.Module
        The model; its mode and parameters are left untouched.
    sample : torch.Tensor
        Input of shape ``(1, *input_shape)``.

    Returns
    -------
    OpReport
        ``findings`` lists non-piecewise-linear ops (module path, type, op), ``random_ops`` the
        random ones, ``has_offset`` whether an additive constant reaches the output, and
        ``output`` the forward result.
    """
    report = OpReport()
    stack = [describe_module("", model)]
    handles = []
    for path, module in model.named_modules():
        label = describe_module(path, module)
        handles.append(module.register_forward_pre_hook(_push(stack, label)))
        handles.append(module.register_forward_hook(_pop(stack), always_call=True))
    mode = _LevelMode(report, stack)
    try:
        with torch.no_grad(), mode:
            x = sample.clone()
            mode.levels[x] = AFFINE
            report.output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return report


def _push(stack: list[str], label: str) -> Any:
    def hook(module: nn.Module, args: Any) -> None:
        stack.append(label)

    return hook


def _pop(stack: list[str]) -> Any:
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if len(stack) > 1:
            stack.pop()

    return hook
