"""Model presets: the paper's bias-free MLP, a small CNN, a residual MLP, a small-image ResNet-18.

The MLPs take flat ``(N, D)`` inputs; :func:`cnn` takes ``(N, C, H, W)`` images (or flat grey
images, for an ``(H, W)`` shape); :func:`resnet18` takes ``(N, C, H, W)`` colour images.

Every preset records how it was built as ``model._linlens_spec = {"preset": ..., "kwargs": {...}}``
(JSON only), so a saved run can rebuild its architecture with :func:`build` and never needs pickle.
Any other ``nn.Module`` works too; a run of one is loaded with ``Run.load(path, model=factory)``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

__all__ = [
    "ResidualBlock",
    "ResidualMLP",
    "build",
    "cnn",
    "mlp",
    "residual_mlp",
    "resnet18",
    "spec_of",
]

SPEC_ATTRIBUTE = "_linlens_spec"


def mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    *,
    bias: bool = False,
    init_scale: float = 1.0,
    seed: int | None = None,
) -> nn.Sequential:
    """Build a fully connected ReLU network: ``Linear, ReLU, ..., Linear`` (``nn.Sequential``).

    The default is the bias-free MLP of the linear-lens paper, for which ``f(x) = W_eff(x) x``
    exactly (no effective bias).

    Parameters
    ----------
    n_in : int
        Input dimension ``D``.
    hidden : sequence of int
        Widths of the hidden layers (may be empty: a linear model).
    n_out : int
        Number of outputs (classes).
    bias : bool, default False
        Give every Linear layer a bias.
    init_scale : float, default 1.0
        Multiplies PyTorch's default initialisation of every parameter; values like 1e-3 give the
        small-initialisation regime where neurons first align with the data.
    seed : int, optional
        Seed the initialisation without touching the global random state.

    Returns
    -------
    nn.Sequential

    >>> mlp(64, [128, 128], 10)
    Sequential(
      (0): Linear(in_features=64, out_features=128, bias=False)
      (1): ReLU()
      (2): Linear(in_features=128, out_features=128, bias=False)
      (3): ReLU()
      (4): Linear(in_features=128, out_features=10, bias=False)
    )
    """
    _positive("n_in", n_in)
    _positive("n_out", n_out)
    widths = [int(_positive("hidden width", h)) for h in hidden]
    with _seeded(seed):
        layers: list[nn.Module] = []
        sizes = [n_in, *widths]
        for a, b in itertools.pairwise(sizes):
            layers += [nn.Linear(a, b, bias=bias), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], n_out, bias=bias))
        model = nn.Sequential(*layers)
        _scale_init(model, init_scale)
    kwargs = {
        "n_in": n_in,
        "hidden": widths,
        "n_out": n_out,
        "bias": bias,
        "init_scale": init_scale,
    }
    return _tag(model, "mlp", kwargs)


def cnn(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    channels: Sequence[int] = (8, 16),
    bias: bool = True,
    kernel_size: int = 3,
    seed: int | None = None,
) -> nn.Sequential:
    """Build a small piecewise-linear CNN for ``(C, H, W)`` images (or flat ``(H, W)`` grey ones).

    Per entry of ``channels``: ``Conv2d`` (same padding), ``ReLU`` and a 2×2 ``MaxPool2d``
    (skipped once the feature map is smaller than 2×2); then ``Flatten`` and one ``Linear`` to the
    classes. Every layer is exact for the effective-weight engine.

    Parameters
    ----------
    input_shape : (C, H, W) or (H, W)
        ``(C, H, W)``: the model takes ``(N, C, H, W)`` images, any number of channels (as
        :func:`~linlens_widgets.runs.datasets.from_torch` holds them). ``(H, W)``: one grey
        channel given flat, ``(N, H * W)``, as the MNIST and digits loaders hold it; the model
        starts with ``Unflatten(1, (1, H, W))``.
    n_classes : int
        Number of outputs.
    channels : sequence of int, default (8, 16)
        Output channels of the convolution blocks.
    bias : bool, default True
        Biases in the convolutions and the final Linear.
    kernel_size : int, default 3
        Odd convolution kernel size.
    seed : int, optional
        Seed the initialisation without touching the global random state.

    Returns
    -------
    nn.Sequential

    >>> cnn((8, 8), 10)(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    >>> cnn((3, 16, 16), 10)(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 10])
    """
    dims = [int(_positive("input size", s)) for s in input_shape]
    if len(dims) not in (2, 3):
        raise ValueError(f"input_shape must be (C, H, W) or (H, W), got {tuple(input_shape)}")
    flat = len(dims) == 2
    c_in, h, w = (1, *dims) if flat else dims
    _positive("n_classes", n_classes)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
    chans = [int(_positive("channels", c)) for c in channels]
    with _seeded(seed):
        layers: list[nn.Module] = [nn.Unflatten(1, (1, h, w))] if flat else []
        for c_out in chans:
            layers += [nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=bias)]
            layers.append(nn.ReLU())
            if h >= 2 and w >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c_in = c_out
        layers += [nn.Flatten(), nn.Linear(c_in * h * w, n_classes, bias=bias)]
        model = nn.Sequential(*layers)
    kwargs = {
        "input_shape": dims,
        "n_classes": n_classes,
        "channels": chans,
        "bias": bias,
        "kernel_size": kernel_size,
    }
    return _tag(model, "cnn", kwargs)


def resnet18(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    blocks: Sequence[int] = (2, 2, 2, 2),
    seed: int | None = None,
) -> nn.Module:
    """Build torchvision's ResNet-18 adapted to small images (CIFAR-style), for ``(C, H, W)``.

    torchvision's ``ResNet`` with ``BasicBlock`` s and BatchNorm, with the two changes usual for
    32×32 images: a 3×3 stride-1 stem convolution instead of the 7×7 stride-2 one, and no max-pool
    after it. Piecewise linear in eval mode (BatchNorm then is an affine map), so its effective
    weights are exact there; train it in train mode as usual.

    Parameters
    ----------
    input_shape : (C, H, W)
        Image shape; any number of channels and any size (global average pooling at the end).
    n_classes : int
        Number of outputs.
    blocks : sequence of 4 int, default (2, 2, 2, 2)
        Residual blocks per stage; ``(2, 2, 2, 2)`` is ResNet-18, ``(1, 1, 1, 1)`` a smaller
        ResNet-10 that trains quickly on a CPU.
    seed : int, optional
        Seed the initialisation without touching the global random state.

    Returns
    -------
    torchvision.models.ResNet

    >>> resnet18((3, 16, 16), 10, blocks=(1, 1, 1, 1)).eval()(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 10])
    """
    from torchvision.models.resnet import BasicBlock, ResNet

    dims = [int(_positive("input size", s)) for s in input_shape]
    if len(dims) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    _positive("n_classes", n_classes)
    stages = [int(_positive("blocks per stage", b)) for b in blocks]
    if len(stages) != 4:
        raise ValueError(f"blocks must give 4 stages, got {len(stages)}")
    with _seeded(seed):
        model = ResNet(BasicBlock, stages, num_classes=n_classes)
        model.conv1 = nn.Conv2d(dims[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    kwargs = {"input_shape": dims, "n_classes": n_classes, "blocks": stages}
    return _tag(model, "resnet18", kwargs)


class ResidualBlock(nn.Module):
    """``x + Linear(ReLU(Linear(x)))``: a pre-activation residual block of constant width."""

    def __init__(self, width: int, *, bias: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width, bias=bias)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(width, width, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x + fc2(relu(fc1(x)))``."""
        return x + self.fc2(self.relu(self.fc1(x)))


class ResidualMLP(nn.Module):
    """An MLP with residual blocks: a stem, residual blocks, and a ReLU + Linear head.

    ``Linear`` stem, ``n_blocks`` × :class:`ResidualBlock`, then ``ReLU, Linear``. Still piecewise
    linear, but not a plain ``Sequential`` of layers.
    """

    def __init__(self, n_in: int, width: int, n_blocks: int, n_out: int, *, bias: bool = True):
        super().__init__()
        self.stem = nn.Linear(n_in, width, bias=bias)
        self.blocks = nn.Sequential(*(ResidualBlock(width, bias=bias) for _ in range(n_blocks)))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, n_out, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``head(blocks(stem(x)))``."""
        return self.head(self.blocks(self.stem(x)))


def residual_mlp(
    n_in: int,
    width: int,
    n_blocks: int,
    n_out: int,
    *,
    bias: bool = True,
    seed: int | None = None,
) -> ResidualMLP:
    """Build an MLP with residual blocks ``x + Linear(ReLU(Linear(x)))`` (:class:`ResidualMLP`).

    Parameters
    ----------
    n_in : int
        Input dimension ``D``.
    width : int
        Width of the residual stream.
    n_blocks : int
        Number of residual blocks (0 allowed).
    n_out : int
        Number of outputs.
    bias : bool, default True
        Biases in every Linear layer.
    seed : int, optional
        Seed the initialisation without touching the global random state.

    Returns
    -------
    ResidualMLP

    >>> residual_mlp(64, 32, 2, 10)(torch.zeros(3, 64)).shape
    torch.Size([3, 10])
    """
    for label, value in (("n_in", n_in), ("width", width), ("n_out", n_out)):
        _positive(label, value)
    if n_blocks < 0:
        raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
    with _seeded(seed):
        model = ResidualMLP(n_in, width, n_blocks, n_out, bias=bias)
    kwargs = {"n_in": n_in, "width": width, "n_blocks": n_blocks, "n_out": n_out, "bias": bias}
    return _tag(model, "residual_mlp", kwargs)


_PRESETS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "cnn": cnn,
    "residual_mlp": residual_mlp,
    "resnet18": resnet18,
}


def spec_of(model: nn.Module) -> dict[str, Any] | None:
    """Return the JSON spec a preset attached to ``model``, or ``None`` for other modules.

    The spec is only returned while it still describes the model: if modules or parameters were
    added, removed, replaced or reshaped after building (checked by rebuilding on the ``meta``
    device, which allocates nothing), the model counts as a user module and ``None`` is returned.

    >>> spec_of(mlp(4, [8], 2))["preset"]
    'mlp'
    >>> spec_of(torch.nn.Linear(4, 2)) is None
    True
    """
    spec = getattr(model, SPEC_ATTRIBUTE, None)
    if not isinstance(spec, dict):
        return None
    try:
        with torch.device("meta"):
            reference = build(spec)
    except (ValueError, TypeError):
        return None
    if _structure(reference) != _structure(model):
        return None
    return json.loads(json.dumps(spec))


def build(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a preset from its JSON spec (as stored in a run's manifest).

    Parameters
    ----------
    spec : dict
        ``{"preset": name, "kwargs": {...}}`` as produced by :func:`spec_of`.

    Returns
    -------
    nn.Module
        A freshly initialised model of that architecture (weights are loaded separately).

    Raises
    ------
    ValueError
        For an unknown preset, arguments the preset rejects, or more than
        :data:`MAX_SPEC_LAYERS` layers.

    >>> build({"preset": "mlp", "kwargs": {"n_in": 4, "hidden": [8], "n_out": 2}})[0]
    Linear(in_features=4, out_features=8, bias=False)
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("kwargs", {}), dict):
        raise ValueError(
            f"a model spec is a dict {{'preset': ..., 'kwargs': {{...}}}}, got {spec!r}"
        )
    name = spec.get("preset")
    if name not in _PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known presets: {sorted(_PRESETS)}")
    kwargs = _current_kwargs(name, spec.get("kwargs", {}))
    _check_depth(kwargs)
    try:
        return _PRESETS[name](**kwargs)
    except TypeError as err:
        raise ValueError(
            f"cannot build preset {name!r} from {spec.get('kwargs')!r}: {err}"
        ) from err


# ---------------------------------------------------------------- helpers


def _current_kwargs(preset: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Read the spec of a run saved before ``cnn``'s ``image_shape`` became ``input_shape``.

    Same architecture: a grey ``(H, W)`` CNN on flat input.
    """
    if preset == "cnn" and "image_shape" in kwargs and "input_shape" not in kwargs:
        kwargs = {**kwargs, "input_shape": kwargs["image_shape"]}
        del kwargs["image_shape"]
    return kwargs


#: Most layers (list entries or residual blocks) a spec read from a file may ask for: building a
#: deep stack takes time even on the ``meta`` device, so a hostile manifest could stall a load.
MAX_SPEC_LAYERS = 1000


def _check_depth(kwargs: dict[str, Any]) -> None:
    for key, value in kwargs.items():
        if isinstance(value, list | tuple):
            size = len(value)
        elif key == "n_blocks" and isinstance(value, int):
            size = value
        else:
            continue
        if size > MAX_SPEC_LAYERS:
            raise ValueError(
                f"{key} asks for {size} layers; a spec is rebuilt with at most {MAX_SPEC_LAYERS}"
            )


def _tag(model: nn.Module, preset: str, kwargs: dict[str, Any]) -> Any:
    setattr(model, SPEC_ATTRIBUTE, {"preset": preset, "kwargs": kwargs})
    return model


def _structure(model: nn.Module) -> tuple[list[tuple[str, str]], dict[str, tuple[int, ...]]]:
    """Return module names/types and state-dict shapes: what must match for a spec to hold."""
    modules = [(name, type(m).__qualname__) for name, m in model.named_modules()]
    return modules, {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _positive(label: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return value


def _scale_init(model: nn.Module, scale: float) -> None:
    if scale == 1.0:
        return
    if not scale > 0:
        raise ValueError(f"init_scale must be positive, got {scale}")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's CPU generator inside the block only (no effect when ``seed`` is None)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
