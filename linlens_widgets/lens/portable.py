"""A plain, framework-free description of a sequential piecewise-linear network.

A saved page or a browser-side engine cannot run PyTorch, but for the stacks the fast path
understands the effective weights need nothing more than each layer's kind, its settings and its
weight tensors. `portable_network` turns such a model into a `PortableNetwork`: a list of ops with
their parameters and float32 tensors, the per-sample input shape and the number of outputs.
`to_arrays` serialises it as a JSON-able spec plus a list of contiguous arrays (float32, or float16
at half the size), the form the JavaScript engine (``js/src/engine/``) decodes.

Eval-mode BatchNorm is folded into the Linear or Conv right before it when there is one (otherwise
it stays a per-channel ``affine`` op); Dropout (eval), Identity, Flatten and Unflatten change no
values of a contiguous C-order array, so they leave no op behind (each op records its input and
output shapes instead).

Op kinds (``spec["ops"][i]["op"]``) and their keys, shapes per sample without the batch dimension:

* ``linear``: ``weight`` (array index, ``(out, in)``), ``bias`` (index or None);
* ``conv2d``: ``weight`` (``(c_out, c_in, kh, kw)``), ``bias``, ``stride``, ``padding``,
  ``dilation`` (pairs; zero padding, one group);
* ``relu``: ``negative_slope`` (0 for ReLU; LeakyReLU's slope);
* ``maxpool2d``: ``kernel``, ``stride``, ``padding``, ``dilation`` (pairs; floor mode);
* ``avgpool2d``: ``kernel``, ``stride``, ``padding`` (pairs), ``count_include_pad`` (floor mode);
* ``adaptive_avgpool2d``: no keys beyond the shapes (windows as in PyTorch);
* ``affine``: ``scale``, ``shift`` (per-channel arrays): an eval BatchNorm that could not be folded.

Every op also has ``in_shape`` and ``out_shape``.

>>> import torch.nn as nn
>>> net = portable_network(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, bias=False)))
>>> [op.kind for op in net.ops], net.input_shape, net.n_outputs, net.has_bias
(['linear', 'relu', 'linear'], (4,), 2, True)
>>> portable_network(nn.Sequential(nn.Linear(4, 3), nn.GELU())) is None
True
>>> portable_network_reason(nn.Sequential(nn.Linear(4, 3), nn.GELU()))
'1: GELU is not a piecewise-linear layer the portable engine covers'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from linlens_widgets.lens.layers import describe_module, iter_leaves

__all__ = [
    "FORMAT",
    "PortableNetwork",
    "PortableOp",
    "portable_network",
    "portable_network_reason",
    "to_arrays",
]

#: Name and version of the spec layout written by `to_arrays`.
FORMAT = "linlens-portable-1"

_PASS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity)
_RESHAPE = (nn.Flatten, nn.Unflatten)
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)
_DTYPES = {"float32": torch.float32, "float16": torch.float16}


class _NotPortable(Exception):
    """The model cannot be described; the message says which layer and why."""


@dataclass
class PortableOp:
    """One step of a portable network.

    Attributes
    ----------
    kind : str
        ``linear``, ``conv2d``, ``relu``, ``maxpool2d``, ``avgpool2d``, ``adaptive_avgpool2d`` or
        ``affine`` (see the module docstring for each kind's parameters).
    in_shape, out_shape : tuple of int
        Per-sample shapes of the op's input and output.
    params : dict
        Plain settings (ints, floats, bools, lists of ints).
    tensors : dict
        float32 CPU tensors by role (``weight``, ``bias``, ``scale``, ``shift``).
    """

    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class PortableNetwork:
    """A sequential piecewise-linear network as plain ops and float32 tensors.

    Attributes
    ----------
    ops : list of PortableOp
        The ops in forward order.
    input_shape : tuple of int
        Shape of one input sample (what `effective_weights` takes after the batch dimension).
    n_outputs : int
        Number of outputs C (the flattened output size).
    """

    ops: list[PortableOp]
    input_shape: tuple[int, ...]
    n_outputs: int

    @property
    def has_bias(self) -> bool:
        """Whether any op adds an offset, so that ``b_eff`` can be non-zero."""
        return any(role in ("bias", "shift") for op in self.ops for role in op.tensors)

    @property
    def n_inputs(self) -> int:
        """Flattened input size D."""
        return math.prod(self.input_shape)


def portable_network(
    model: nn.Module, input_shape: tuple[int, ...] | None = None
) -> PortableNetwork | None:
    """Describe ``model`` as a `PortableNetwork`, or return None when it cannot be.

    Parameters
    ----------
    model : nn.Module
        A plain (nested) ``nn.Sequential`` of Linear, Conv2d, ReLU, LeakyReLU, MaxPool2d,
        AvgPool2d, AdaptiveAvgPool2d, eval-mode BatchNorm1d/2d and Dropout, Identity, Flatten and
        Unflatten, in eval mode where that matters.
    input_shape : tuple of int, optional
        Shape of one input sample. Inferred when the stack starts (after reshapes and
        pass-throughs) with a Linear, or with an ``Unflatten(1, shape)``; needed otherwise.

    Returns
    -------
    PortableNetwork or None
        None for anything else; `portable_network_reason` says why.
    """
    try:
        return _describe(model, input_shape)
    except _NotPortable:
        return None


def portable_network_reason(model: nn.Module, input_shape: tuple[int, ...] | None = None) -> str:
    """Say why `portable_network` returns None for ``model`` (empty string when it does not).

    Parameters
    ----------
    model : nn.Module
        The model.
    input_shape : tuple of int, optional
        As for `portable_network`.

    Returns
    -------
    str
    """
    try:
        _describe(model, input_shape)
    except _NotPortable as err:
        return str(err)
    return ""


def _describe(model: nn.Module, input_shape: tuple[int, ...] | None) -> PortableNetwork:
    if not isinstance(model, nn.Sequential):
        raise _NotPortable(
            f"{describe_module('', model)} is not an nn.Sequential stack (residual or custom "
            "forward passes need the kernel)"
        )
    leaves = list(iter_leaves(model))
    if not leaves:
        raise _NotPortable("the model has no layers")
    for path, module in leaves:
        _check_leaf(path, module)
    shape = tuple(input_shape) if input_shape is not None else _infer_input_shape(leaves)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    ops: list[PortableOp] = []
    with torch.no_grad():
        h = torch.zeros((1, *shape), dtype=torch.float32, device=device)
        for path, module in leaves:
            try:
                out = _run(module, h)
            except Exception as err:  # a shape mismatch names the layer
                name = describe_module(path, module)
                raise _NotPortable(f"{name} fails on an input of shape {shape}: {err}") from err
            op = _op(path, module, tuple(h.shape[1:]), tuple(out.shape[1:]), ops)
            if op is not None:
                ops.append(op)
            h = out
    if not ops:
        raise _NotPortable("the model has no layer that changes its input")
    return PortableNetwork(ops, shape, int(math.prod(h.shape[1:])))


def _run(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
    param = next(module.parameters(), None)
    if param is not None and param.dtype != h.dtype:
        return module(h.to(param.dtype)).float()
    return module(h)


def _check_leaf(path: str, module: nn.Module) -> None:
    name = describe_module(path, module)
    if isinstance(module, nn.Conv2d):
        if module.groups != 1:
            raise _NotPortable(f"{name} has groups={module.groups}; only groups=1 is covered")
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise _NotPortable(f"{name} needs numeric zero padding")
        return
    if isinstance(module, nn.MaxPool2d):
        if module.ceil_mode:
            raise _NotPortable(f"{name} uses ceil_mode; only floor mode is covered")
        return
    if isinstance(module, nn.AvgPool2d):
        if module.ceil_mode or module.divisor_override is not None:
            raise _NotPortable(f"{name} uses ceil_mode or divisor_override")
        return
    if isinstance(module, _BATCHNORM):
        if module.running_mean is None or module.running_var is None:
            raise _NotPortable(f"{name} has no running statistics")
        if module.training:
            raise _NotPortable(f"{name} is in training mode; call model.eval() first")
        return
    if isinstance(module, _PASS):
        if module.training and not isinstance(module, nn.Identity) and module.p > 0:
            raise _NotPortable(f"{name} is in training mode; call model.eval() first")
        return
    if isinstance(module, nn.Flatten) and module.start_dim <= 0:
        raise _NotPortable(f"{name} flattens the batch dimension")
    if isinstance(module, nn.Unflatten) and not (isinstance(module.dim, int) and module.dim > 0):
        raise _NotPortable(f"{name} must unflatten a feature dimension given as an int")
    if isinstance(module, (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.AdaptiveAvgPool2d, *_RESHAPE)):
        return
    raise _NotPortable(f"{name} is not a piecewise-linear layer the portable engine covers")


def _infer_input_shape(leaves: list[tuple[str, nn.Module]]) -> tuple[int, ...]:
    for _, module in leaves:
        if isinstance(module, nn.Linear):
            return (module.in_features,)
        if isinstance(module, nn.Unflatten) and module.dim == 1:
            return (math.prod(module.unflattened_size),)
        if not isinstance(module, (*_PASS, nn.Flatten)):
            break
    raise _NotPortable("the input shape cannot be inferred from the first layer; pass input_shape")


def _pair(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)] * 2


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(device="cpu", dtype=torch.float32).contiguous()


def _op(
    path: str,
    module: nn.Module,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    ops: list[PortableOp],
) -> PortableOp | None:
    """Describe one leaf, or fold it into the previous op (returning None)."""
    if isinstance(module, (*_PASS, *_RESHAPE)):
        return None
    tensors: dict[str, torch.Tensor] = {}
    if isinstance(module, nn.Linear):
        if len(in_shape) != 1:
            raise _NotPortable(
                f"{describe_module(path, module)} acts on a tensor with more than one feature "
                "dimension; flatten first"
            )
        tensors["weight"] = _f32(module.weight)
        if module.bias is not None:
            tensors["bias"] = _f32(module.bias)
        return PortableOp("linear", in_shape, out_shape, {}, tensors)
    if isinstance(module, nn.Conv2d):
        tensors["weight"] = _f32(module.weight)
        if module.bias is not None:
            tensors["bias"] = _f32(module.bias)
        params = {
            "stride": _pair(module.stride),
            "padding": _pair(module.padding),
            "dilation": _pair(module.dilation),
        }
        return PortableOp("conv2d", in_shape, out_shape, params, tensors)
    if isinstance(module, (nn.ReLU, nn.LeakyReLU)):
        slope = float(module.negative_slope) if isinstance(module, nn.LeakyReLU) else 0.0
        return PortableOp("relu", in_shape, out_shape, {"negative_slope": slope})
    if isinstance(module, nn.MaxPool2d):
        params = {
            "kernel": _pair(module.kernel_size),
            "stride": _pair(module.stride or module.kernel_size),
            "padding": _pair(module.padding),
            "dilation": _pair(module.dilation),
        }
        return PortableOp("maxpool2d", in_shape, out_shape, params)
    if isinstance(module, nn.AvgPool2d):
        params = {
            "kernel": _pair(module.kernel_size),
            "stride": _pair(module.stride or module.kernel_size),
            "padding": _pair(module.padding),
            "count_include_pad": bool(module.count_include_pad),
        }
        return PortableOp("avgpool2d", in_shape, out_shape, params)
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return PortableOp("adaptive_avgpool2d", in_shape, out_shape)
    return _batchnorm(module, in_shape, out_shape, ops)


def _batchnorm(
    module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...], ops: list[PortableOp]
) -> PortableOp | None:
    """Fold an eval BatchNorm ``y = scale * x + shift`` (per channel) into the op before it."""
    var = module.running_var.detach().double()
    scale = torch.rsqrt(var + module.eps)
    if module.weight is not None:
        scale = scale * module.weight.detach().double()
    shift = -module.running_mean.detach().double() * scale
    if module.bias is not None:
        shift = shift + module.bias.detach().double()
    prev = ops[-1] if ops else None
    if prev is not None and prev.kind in ("linear", "conv2d") and prev.out_shape == in_shape:
        weight = prev.tensors["weight"].double()
        shape = (-1,) + (1,) * (weight.dim() - 1)
        prev.tensors["weight"] = _f32(weight * scale.view(shape))
        bias = prev.tensors.get("bias")
        folded = shift if bias is None else bias.double() * scale + shift
        prev.tensors["bias"] = _f32(folded)
        return None
    return PortableOp(
        "affine", in_shape, out_shape, {}, {"scale": _f32(scale), "shift": _f32(shift)}
    )


def to_arrays(net: PortableNetwork, dtype: str = "float32") -> tuple[dict[str, Any], list[Any]]:
    """Serialise a network as a JSON-able spec and a list of contiguous numpy arrays.

    Parameters
    ----------
    net : PortableNetwork
        From `portable_network`.
    dtype : {"float32", "float16"}, default "float32"
        Storage precision of every array; float16 halves the size (the engine computes in
        float32/float64 either way).

    Returns
    -------
    spec : dict
        ``{"format", "dtype", "input_shape", "n_inputs", "n_outputs", "has_bias", "ops",
        "arrays"}``; each op is ``{"op", "in_shape", "out_shape", **params, **roles}`` where a
        role (``weight``, ``bias``, ``scale``, ``shift``) is an index into the array list or None
        (``bias`` of a bias-free layer); ``arrays[i]`` is ``{"shape", "dtype"}``.
    arrays : list of numpy.ndarray
        C-contiguous arrays in that order, of ``dtype``.

    >>> import torch.nn as nn
    >>> net = portable_network(nn.Sequential(nn.Linear(3, 2, bias=False)))
    >>> spec, arrays = to_arrays(net, "float16")
    >>> spec["ops"][0]["weight"], spec["ops"][0]["bias"], arrays[0].dtype, spec["arrays"]
    (0, None, dtype('float16'), [{'shape': [2, 3], 'dtype': 'float16'}])
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    arrays: list[Any] = []
    metas: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
    for op in net.ops:
        entry: dict[str, Any] = {
            "op": op.kind,
            "in_shape": list(op.in_shape),
            "out_shape": list(op.out_shape),
            **op.params,
        }
        if op.kind in ("linear", "conv2d"):
            entry["bias"] = None
        for role, tensor in op.tensors.items():
            entry[role] = len(arrays)
            arrays.append(tensor.to(_DTYPES[dtype]).contiguous().numpy())
            metas.append({"shape": list(tensor.shape), "dtype": dtype})
        ops.append(entry)
    spec = {
        "format": FORMAT,
        "dtype": dtype,
        "input_shape": list(net.input_shape),
        "n_inputs": net.n_inputs,
        "n_outputs": net.n_outputs,
        "has_bias": net.has_bias,
        "ops": ops,
        "arrays": metas,
    }
    return spec, arrays
