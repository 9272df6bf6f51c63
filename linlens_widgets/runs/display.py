"""How a dataset's inputs are SHOWN: :class:`InputDisplay`, and the one function that un-normalises.

A :class:`~linlens_widgets.runs.datasets.Dataset` holds its inputs exactly as the network receives
them (after a ``transforms.Normalize``, say). What a person should see is stored beside them as an
:class:`InputDisplay`, never as a change of the inputs:

* ``"unit"``: the inputs already are pixel values in ``[0, 1]`` (MNIST scaled by 1/255, digits);
* ``"normalize"``: the inputs are ``(pixel - mean[c]) / std[c]`` per channel ``c``, as
  ``torchvision.transforms.Normalize(mean, std)`` makes them; showing them undoes that;
* ``"features"``: flat feature vectors (tabular data), shown as named bars, never as an image.

``shape`` is the image one input is shown as, ``(C, H, W)`` (a flat input of ``C * H * W`` values
is shown as that image too, in PyTorch's channel-first order), or ``(D,)`` for features.
:func:`to_pixels` and :func:`to_uint8` are the one place where inputs become what the user sees;
the run, the widgets and the saved page all call them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

__all__ = ["DISPLAY_KINDS", "InputDisplay", "check_display", "to_pixels", "to_uint8"]

DisplayKind = Literal["unit", "normalize", "features"]

#: The kinds of display a run can store.
DISPLAY_KINDS: tuple[str, ...] = ("unit", "normalize", "features")


@dataclass(frozen=True)
class InputDisplay:
    """How the inputs of a dataset or run are shown (stored in the run's manifest).

    Attributes
    ----------
    kind : {"unit", "normalize", "features"}
        See the module docstring.
    shape : tuple of int
        ``(C, H, W)`` for images (any ``C``; 1 is grey, 3 is RGB), ``(D,)`` for features.
    mean, std : tuple of float
        Per-channel mean and std of a ``"normalize"`` display (length ``C``; one value given for
        all channels is repeated); empty otherwise.
    feature_names : tuple of str
        One name per feature of a ``"features"`` display; empty otherwise.

    Build one with :meth:`unit`, :meth:`normalize` or :meth:`features`; the constructor checks
    that the fields agree.

    >>> InputDisplay.normalize((3, 32, 32), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)).kind
    'normalize'
    >>> InputDisplay.unit((8, 8)).shape
    (1, 8, 8)
    """

    kind: DisplayKind
    shape: tuple[int, ...]
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "feature_names", tuple(str(v) for v in self.feature_names))
        _validate(self)
        if self.kind == "normalize" and self.shape[0] > 1:  # one value for all: one per channel
            object.__setattr__(self, "mean", self.mean * (self.shape[0] // len(self.mean)))
            object.__setattr__(self, "std", self.std * (self.shape[0] // len(self.std)))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def unit(cls, shape: Sequence[int]) -> InputDisplay:
        """Images whose values already are pixel intensities in ``[0, 1]``.

        ``shape`` is ``(C, H, W)``, or ``(H, W)`` for one grey channel.
        """
        return cls("unit", _image_shape(shape))

    @classmethod
    def normalize(
        cls, shape: Sequence[int], mean: Sequence[float] | float, std: Sequence[float] | float
    ) -> InputDisplay:
        """Images normalised per channel as ``transforms.Normalize(mean, std)`` does."""
        return cls("normalize", _image_shape(shape), _floats(mean), _floats(std))

    @classmethod
    def features(cls, names: Sequence[str]) -> InputDisplay:
        """Flat feature vectors, one name per feature."""
        names = tuple(str(n) for n in names)
        return cls("features", (len(names),), feature_names=names)

    # ------------------------------------------------------------------ derived

    @property
    def is_image(self) -> bool:
        """True for ``"unit"`` and ``"normalize"`` displays (inputs shown as images)."""
        return self.kind != "features"

    @property
    def channels(self) -> int:
        """Channels ``C`` of the image (0 for features)."""
        return self.shape[0] if self.is_image else 0

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W)`` for one channel, ``(C, H, W)`` for more; ValueError for features."""
        if not self.is_image:
            raise ValueError(
                f"these inputs are {self.shape[0]} features (named {_shown(self.feature_names)}), "
                "not images; use feature_names"
            )
        return self.shape[1:] if self.shape[0] == 1 else self.shape

    @property
    def size(self) -> int:
        """Values per input: ``C * H * W`` or ``D``."""
        return math.prod(self.shape)

    # ------------------------------------------------------------------ JSON (manifest)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest's ``dataset.display`` object (only the fields this kind uses)."""
        out: dict[str, Any] = {"kind": self.kind, "shape": list(self.shape)}
        if self.kind == "normalize":
            out["mean"], out["std"] = list(self.mean), list(self.std)
        if self.kind == "features":
            out["feature_names"] = list(self.feature_names)
        return out

    @classmethod
    def from_json(cls, value: Any) -> InputDisplay:
        """Parse :meth:`to_json`'s output; ValueError naming the field for anything else."""
        if not isinstance(value, dict):
            raise ValueError(f"display must be an object, got {type(value).__name__}")
        kind, shape = value.get("kind"), value.get("shape")
        if kind not in DISPLAY_KINDS:
            raise ValueError(f"display.kind must be one of {DISPLAY_KINDS}, got {kind!r}")
        if not (isinstance(shape, list) and all(_is_int(s) for s in shape)):
            raise ValueError(f"display.shape must be a list of sizes, got {shape!r}")
        lists = {}
        for key in ("mean", "std", "feature_names"):
            item = value.get(key, [])
            if not isinstance(item, list):
                raise ValueError(f"display.{key} must be a list, got {item!r}")
            lists[key] = item
        for key in ("mean", "std"):
            if not all(_is_number(v) for v in lists[key]):
                raise ValueError(f"display.{key} must be a list of numbers, got {lists[key]!r}")
        if not all(isinstance(v, str) for v in lists["feature_names"]):
            raise ValueError("display.feature_names must be a list of strings")
        return cls(kind, tuple(shape), **{k: tuple(v) for k, v in lists.items()})


# ---------------------------------------------------------------------- showing inputs


def to_pixels(inputs: Any, display: InputDisplay) -> np.ndarray:
    """Return inputs as the user would see them: float32 ``(N, C, H, W)`` pixels in ``[0, 1]``.

    Undoes a ``"normalize"`` display (``x * std + mean`` per channel) and clips to ``[0, 1]``.
    Inputs may be ``(N, *shape)`` or flat ``(N, C * H * W)`` (channel-first order).

    Parameters
    ----------
    inputs : array-like or Tensor
        Inputs as the network receives them.
    display : InputDisplay
        How they are shown; must be an image display.

    Raises
    ------
    ValueError
        For a ``"features"`` display (feature vectors are not images), or inputs of another size.

    >>> d = InputDisplay.normalize((1, 1, 2), mean=0.5, std=0.5)
    >>> to_pixels(np.array([[-1.0, 1.0]]), d).tolist()
    [[[[0.0, 1.0]]]]
    """
    if not display.is_image:
        raise ValueError(
            "these inputs are feature vectors, not images: show them with their feature_names "
            f"({_shown(display.feature_names)})"
        )
    x = _numpy(inputs)
    n = len(x)
    if x.size != n * display.size:
        raise ValueError(
            f"inputs of shape {tuple(x.shape)} do not hold images of shape {display.shape}"
        )
    pixels = x.reshape(n, *display.shape).astype(np.float32, copy=True)
    if display.kind == "normalize":
        mean = np.asarray(display.mean, dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(display.std, dtype=np.float32).reshape(-1, 1, 1)
        pixels = pixels * std + mean
    return np.clip(pixels, 0.0, 1.0, out=pixels)


def to_uint8(inputs: Any, display: InputDisplay) -> np.ndarray:
    """Return inputs as uint8 images ``(N, H, W, C)`` (channel-last, as image files hold them).

    :func:`to_pixels` scaled by 255 and rounded; ``C`` is the display's channel count.

    >>> to_uint8(np.ones((2, 4)), InputDisplay.unit((2, 2))).shape
    (2, 2, 2, 1)
    """
    pixels = to_pixels(inputs, display)
    return np.rint(pixels.transpose(0, 2, 3, 1) * 255.0).astype(np.uint8)


def check_display(input_shape: tuple[int, ...], display: InputDisplay) -> None:
    """Check that ``display`` fits inputs of ``input_shape`` (ValueError naming both if not).

    Flat inputs ``(D,)`` may be shown as any image or feature display of ``D`` values; image inputs
    ``(C, H, W)`` only as images of that very shape.
    """
    if display.size != math.prod(input_shape):
        raise ValueError(
            f"the display shows {display.shape} ({display.size} values) but inputs have shape "
            f"{input_shape}"
        )
    if len(input_shape) > 1 and display.shape != input_shape:
        raise ValueError(
            f"inputs of shape {input_shape} must be shown as images of that shape, not "
            f"{display.shape}"
        )


# ---------------------------------------------------------------------- helpers


def _numpy(inputs: Any) -> np.ndarray:
    if isinstance(inputs, torch.Tensor):
        return inputs.detach().cpu().to(torch.float32).numpy()
    return np.asarray(inputs, dtype=np.float32)


def _image_shape(shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(int(s) for s in shape)
    return (1, *dims) if len(dims) == 2 else dims


def _floats(value: Sequence[float] | float) -> tuple[float, ...]:
    if isinstance(value, (int, float)):
        return (float(value),)
    return tuple(float(v) for v in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(names: Sequence[str]) -> str:
    head = ", ".join(names[:4])
    return head + (", ..." if len(names) > 4 else "")


def _validate(d: InputDisplay) -> None:
    if d.kind not in DISPLAY_KINDS:
        raise ValueError(f"display kind must be one of {DISPLAY_KINDS}, got {d.kind!r}")
    if not d.shape or min(d.shape) < 1:
        raise ValueError(f"display shape must hold positive sizes, got {d.shape}")
    if d.kind == "features":
        if len(d.shape) != 1 or len(d.feature_names) != d.shape[0]:
            raise ValueError(
                f"a features display names every feature: shape {d.shape} but "
                f"{len(d.feature_names)} feature_names"
            )
        if d.mean or d.std:
            raise ValueError("a features display has no mean/std")
        return
    if len(d.shape) != 3:
        raise ValueError(f"an image display has shape (C, H, W), got {d.shape}")
    if d.feature_names:
        raise ValueError(f"a {d.kind!r} display has no feature_names")
    if d.kind == "unit":
        if d.mean or d.std:
            raise ValueError("a 'unit' display has no mean/std (use InputDisplay.normalize)")
        return
    c = d.shape[0]
    for label, values in (("mean", d.mean), ("std", d.std)):
        if len(values) not in (1, c):
            raise ValueError(
                f"normalize {label} has {len(values)} values for {c} channel(s); give 1 or {c}"
            )
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"normalize {label} must be finite, got {values}")
    if any(v == 0 for v in d.std):
        raise ValueError(f"normalize std must be non-zero, got {d.std}")
