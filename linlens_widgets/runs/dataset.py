"""The :class:`Dataset` record: inputs exactly as the network receives them, labels, and a display.

A dataset holds float32 inputs of shape ``(N, *input_shape)``: images ``(C, H, W)`` with any number
of channels, or flat vectors ``(D,)`` (tabular features, or flat images for an MLP). Values are in
the network's own units (any finite range: after a ``transforms.Normalize``, say). How they are
shown to a person is a separate :class:`~linlens_widgets.runs.display.InputDisplay`, stored with
every run, never a change of the inputs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from linlens_widgets.runs.display import InputDisplay, check_display

__all__ = ["Dataset", "check_finite", "class_labels", "network_inputs"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of inputs, as the network receives them, with integer labels.

    Attributes
    ----------
    name : str
        Short name recorded in run manifests (``"digits"``, ``"mnist"``, ...).
    x_train, x_test : torch.Tensor
        float32 ``(N, *input_shape)`` inputs, finite, in the network's units.
    y_train, y_test : torch.Tensor
        int64 ``(N,)`` labels in ``[0, n_classes)``.
    classes : tuple[str, ...]
        One display name per class.
    display : InputDisplay
        How the inputs are shown: pixels in ``[0, 1]`` (``"unit"``), normalised per channel
        (``"normalize"``) or named features (``"features"``). Its size equals the inputs'.

    Build one with a loader (:func:`~linlens_widgets.runs.datasets.digits`,
    :func:`~linlens_widgets.runs.datasets.from_torch`, ...) or from your own arrays with
    :meth:`from_tensors`; the constructor validates everything.

    >>> from linlens_widgets.runs.datasets import digits
    >>> data = digits()
    >>> data.input_shape, data.image_shape, data.display.kind, data.n_classes
    ((64,), (8, 8), 'unit', 10)
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    display: InputDisplay

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        _validate(self)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input as the network receives it: ``(C, H, W)`` or ``(D,)``."""
        return tuple(int(s) for s in self.x_train.shape[1:])

    @property
    def image_shape(self) -> tuple[int, ...]:
        """How one input is drawn: ``(H, W)`` for one channel, ``(C, H, W)`` for more.

        Raises ValueError for feature vectors (see :attr:`feature_names`).
        """
        return self.display.image_shape

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the features of flat feature-vector inputs; empty for images."""
        return self.display.feature_names

    @property
    def n_features(self) -> int:
        """Values per input, ``prod(input_shape)`` (``D`` of the flattened effective weights)."""
        return math.prod(self.input_shape)

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(classes)``)."""
        return len(self.classes)

    def content_hash(self) -> str:
        """Return the sha256 (hex) of the four tensors: dtype, shape and bytes, in a fixed order.

        Stable across processes and platforms (bytes are hashed little-endian), so a run's manifest
        can tell whether it was trained on exactly this data.
        """
        return self._digest

    @cached_property
    def _digest(self) -> str:
        digest = hashlib.sha256()
        for key in ("x_train", "y_train", "x_test", "y_test"):
            array = getattr(self, key).detach().cpu().contiguous().numpy()
            array = array.astype(array.dtype.newbyteorder("<"), copy=False)
            digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input_shape={self.input_shape}, display={self.display.kind!r}, "
            f"classes={self.n_classes})"
        )

    @classmethod
    def from_tensors(
        cls,
        x: Any,
        y: Any,
        *,
        x_test: Any = None,
        y_test: Any = None,
        display: InputDisplay | None = None,
        image_shape: Sequence[int] | None = None,
        feature_names: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
        name: str = "custom",
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> Dataset:
        """Make a Dataset from your own arrays (numpy or torch), kept as the network receives them.

        Parameters
        ----------
        x : array (N, C, H, W), (N, H, W) or (N, D)
            Inputs: any finite floats (``uint8`` is divided by 255). ``(N, C, H, W)`` stays as it
            is; ``(N, H, W)`` grey images are flattened to ``(N, H * W)`` (what an MLP takes).
        y : array (N,)
            Integer labels ``0 .. n_classes - 1``.
        x_test, y_test : array, optional
            A test split. Without it, a stratified split of ``test_fraction`` is drawn with
            ``seed``.
        display : InputDisplay, optional
            How the inputs are shown, e.g. ``InputDisplay.normalize((3, 32, 32), mean, std)``
            for inputs normalised per channel. Without it: images whose values lie in ``[0, 1]``
            are shown as they are; images in another range are shown rescaled from their
            smallest to their largest value; flat inputs follow ``image_shape`` /
            ``feature_names`` below.
        image_shape : (H, W) or (C, H, W), optional
            Show flat ``(N, D)`` inputs as images of this shape. Without it (and without
            ``feature_names``), flat inputs in ``[0, 1]`` whose ``D`` is a perfect square are
            shown as ``(√D, √D)`` images, and any other flat inputs as features.
        feature_names : sequence of str, optional
            Show flat ``(N, D)`` inputs as these named features (default ``"x0"``, ``"x1"``, ...).
        classes : sequence of str, optional
            Class names; default ``"0"``, ``"1"``, ... up to the largest label.
        name : str, default "custom"
            Name recorded in run manifests.
        test_fraction : float, default 0.2
            Fraction of ``x`` held out as the test split when ``x_test`` is not given.
        seed : int, default 0
            Seed of that split.

        Returns
        -------
        Dataset

        Raises
        ------
        ValueError
            Naming the problem: wrong dimensions, mismatched lengths or shapes, NaN or infinite
            values (with the first bad index), non-integer or out-of-range labels, a display that
            does not fit, a split that leaves a side empty.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> data = Dataset.from_tensors(rng.random((100, 4, 4)), rng.integers(0, 3, 100))
        >>> data.x_train.shape, data.image_shape, data.n_classes
        (torch.Size([80, 16]), (4, 4), 3)
        """
        inputs = network_inputs(x, what="x")
        labels = class_labels(y, len(inputs), what="y")
        if (x_test is None) != (y_test is None):
            raise ValueError("pass both x_test and y_test, or neither")
        n_named = None if classes is None else len(classes)
        check_label_range(labels, n_named, what="y")
        if x_test is None:
            train_idx, test_idx = stratified_split(labels, test_fraction, seed)
            x_train, y_train = inputs[train_idx], labels[train_idx]
            x_te, y_te = inputs[test_idx], labels[test_idx]
        else:
            x_train, y_train = inputs, labels
            x_te = network_inputs(x_test, what="x_test")
            if x_te.shape[1:] != x_train.shape[1:]:
                raise ValueError(
                    f"x_test inputs have shape {tuple(x_te.shape[1:])}, x inputs "
                    f"{tuple(x_train.shape[1:])}"
                )
            y_te = class_labels(y_test, len(x_te), what="y_test")
            check_label_range(y_te, n_named, what="y_test")
        if display is None:
            display = _default_display(x, (x_train, x_te), image_shape, feature_names)
        n_classes = int(max(int(y_train.max()), int(y_te.max()))) + 1
        names = tuple(str(c) for c in range(n_classes)) if classes is None else tuple(classes)
        return cls(name, x_train, y_train, x_te, y_te, names, display)


# ---------------------------------------------------------------- displays chosen for you


def _default_display(
    raw: Any,
    splits: tuple[torch.Tensor, torch.Tensor],
    image_shape: Sequence[int] | None,
    feature_names: Sequence[str] | None,
) -> InputDisplay:
    """Pick the display :meth:`Dataset.from_tensors` uses when none is given (see its docstring)."""
    if image_shape is not None and feature_names is not None:
        raise ValueError("pass image_shape or feature_names, not both")
    x = torch.cat(splits)
    d = math.prod(x.shape[1:])
    if x.ndim == 2:
        if feature_names is not None:
            return InputDisplay.features(feature_names)
        if image_shape is not None:
            shape = tuple(int(s) for s in image_shape)
            if len(shape) not in (2, 3) or math.prod(shape) != d or min(shape) < 1:
                raise ValueError(f"image_shape {tuple(image_shape)} does not match D={d} of x")
        elif len(np.shape(raw)) == 3:  # (N, H, W) grey images, flattened
            shape = tuple(int(s) for s in np.shape(raw)[1:])
        else:
            side = math.isqrt(d)
            if side * side != d or not _in_unit_range(x):
                return InputDisplay.features([f"x{i}" for i in range(d)])
            shape = (side, side)
        return _image_display(x, shape)
    if feature_names is not None:
        raise ValueError(f"feature_names are for flat (N, D) inputs; x has shape {tuple(x.shape)}")
    if image_shape is not None and tuple(image_shape) not in (tuple(x.shape[1:]), x.shape[2:]):
        raise ValueError(f"image_shape {tuple(image_shape)} does not match x's {tuple(x.shape)}")
    return _image_display(x, tuple(x.shape[1:]))


def _in_unit_range(x: torch.Tensor) -> bool:
    return bool(len(x) == 0 or (float(x.min()) >= 0.0 and float(x.max()) <= 1.0))


def _image_display(x: torch.Tensor, shape: Sequence[int]) -> InputDisplay:
    """Show values in [0, 1] as they are (``"unit"``), others mapped from min..max onto [0, 1]."""
    if _in_unit_range(x):
        return InputDisplay.unit(shape)
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo if hi > lo else 1.0
    return InputDisplay.normalize(shape, mean=-lo / span, std=1.0 / span)


# ---------------------------------------------------------------- validation and conversion


def _validate(data: Dataset) -> None:
    """Check dtypes, shapes, values, labels and display of a Dataset, naming the bad field."""
    if not data.name or not isinstance(data.name, str):
        raise ValueError(f"Dataset.name must be a non-empty string, got {data.name!r}")
    if not isinstance(data.display, InputDisplay):
        raise ValueError(
            f"Dataset.display must be an InputDisplay, got {type(data.display).__name__}"
        )
    for xs, ys in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = getattr(data, xs), getattr(data, ys)
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32 or x.ndim < 2:
            raise ValueError(
                f"{xs} must be a float32 tensor of shape (N, *input_shape), got {_describe(x)}"
            )
        if len(x) == 0:
            raise ValueError(f"{xs} is empty")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != (len(x),):
            raise ValueError(
                f"{ys} must be an int64 tensor of shape ({len(x)},), got {_describe(y)}"
            )
        if int(y.min()) < 0 or int(y.max()) >= len(data.classes):
            raise ValueError(
                f"{ys} holds labels {int(y.min())}..{int(y.max())} but there are "
                f"{len(data.classes)} classes"
            )
        check_finite(x, xs)
    if data.x_test.shape[1:] != data.x_train.shape[1:]:
        raise ValueError(
            f"x_test inputs have shape {tuple(data.x_test.shape[1:])} but x_train inputs "
            f"{tuple(data.x_train.shape[1:])}"
        )
    check_display(data.input_shape, data.display)


def check_finite(x: torch.Tensor, what: str) -> None:
    """Refuse NaN or infinite inputs, naming the first bad sample's index."""
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if bool(bad.any()):
        first = int(torch.nonzero(bad)[0])
        raise ValueError(
            f"{what} holds NaN or infinite values ({int(bad.sum())} sample(s), the first at "
            f"index {first})"
        )


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def _as_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.from_numpy(np.array(value))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be a numpy array or torch tensor: {err}") from err


def network_inputs(x: Any, *, what: str, input_shape: Sequence[int] | None = None) -> torch.Tensor:
    """Return ``x`` as finite float32 inputs ``(N, C, H, W)`` or ``(N, D)``, refusing anything else.

    Shared by :class:`Dataset` and the probe set, so both accept the same inputs. ``uint8`` is
    divided by 255 and ``bool`` becomes 0/1; ``(N, H, W)`` grey images are flattened.

    Parameters
    ----------
    x : array-like
        ``(N, D)``, ``(N, H, W)`` or ``(N, C, H, W)``.
    what : str
        How error messages name the argument.
    input_shape : sequence of int, optional
        The shape one input must have (flat inputs of the same size are accepted as flat images
        are: ``(N, H, W)`` or ``(N, 1, H, W)`` for ``(H * W,)``).

    Raises
    ------
    ValueError
        For another shape or dtype, or NaN/infinite values (naming the first bad index).
    """
    t = _as_tensor(x, what)
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 1 and t.ndim > 2 and math.prod(t.shape[1:]) == shape[0]:
            t = t.reshape(len(t), -1)
        if tuple(t.shape[1:]) != shape:
            raise ValueError(
                f"{what} have shape {tuple(t.shape[1:])} per sample, but the network's inputs "
                f"are {shape}"
            )
    elif t.ndim == 3:
        t = t.reshape(len(t), -1)
    elif t.ndim not in (2, 4):
        raise ValueError(
            f"{what} must have shape (N, D), (N, H, W) or (N, C, H, W); got {tuple(t.shape)}"
        )
    return _float_inputs(t, what)


def _float_inputs(t: torch.Tensor, what: str) -> torch.Tensor:
    if t.dtype == torch.uint8:
        return (t.to(torch.float32) / 255.0).contiguous()
    if t.dtype == torch.bool:
        return t.to(torch.float32).contiguous()
    if not t.is_floating_point():
        raise ValueError(f"{what} must be float (any finite range) or uint8, got {t.dtype}")
    t = t.to(torch.float32).contiguous()
    check_finite(t, what)
    return t


def class_labels(y: Any, n: int, *, what: str) -> torch.Tensor:
    """Return ``y`` as int64 class labels ``(n,)``, refusing floats, bools and negatives.

    Parameters
    ----------
    y : array-like
        The labels.
    n : int
        How many inputs they label.
    what : str
        How error messages name the argument.

    Raises
    ------
    ValueError
        For another shape, a non-integer dtype or a negative label.
    """
    t = _as_tensor(y, what)
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"{what} must have shape ({n},) to match the inputs, got {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{what} must hold integer class labels, got {t.dtype}")
    t = t.to(torch.int64)
    if n and int(t.min()) < 0:
        position = int(torch.argmin(t))
        raise ValueError(
            f"{what} holds a negative label ({int(t[position])}) at position {position}; labels "
            "start at 0"
        )
    return t


#: Most classes inferred from the labels when ``classes`` is not given (name them to use more).
MAX_INFERRED_CLASSES = 10_000


def check_label_range(labels: torch.Tensor, n_classes: int | None, *, what: str) -> None:
    """Labels must be ``0 .. n_classes - 1``: name the first one outside, and its position.

    Without named classes the count is inferred as the largest label + 1, which must stay within
    :data:`MAX_INFERRED_CLASSES`: a stray huge label (``10**9``, an unsigned ``-1`` sentinel)
    would otherwise size every per-class table by it.
    """
    if not len(labels):
        return
    if n_classes is None:
        limit = MAX_INFERRED_CLASSES
        hint = (
            f"without classes=, labels must lie in 0..{limit - 1}; relabel them or name the "
            "classes with classes="
        )
    else:
        limit = n_classes
        hint = f"only {n_classes} classes are named, so labels must lie in 0..{n_classes - 1}"
    bad = torch.nonzero(labels >= limit).flatten()
    if len(bad):
        position = int(bad[0])
        raise ValueError(
            f"{what} holds label {int(labels[position])} at position {position}; {hint}"
        )


def stratified_split(
    labels: torch.Tensor, test_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices into (train, test), stratified by label when possible.

    Stratification needs two members per class and room for every class on both sides; tiny
    datasets fall back to a plain seeded random split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    from sklearn.model_selection import train_test_split

    y = labels.numpy()
    counts = np.bincount(y)
    n_test = int(np.ceil(test_fraction * len(y)))
    n_classes = int((counts > 0).sum())
    feasible = counts[counts > 0].min() >= 2 and n_classes <= min(n_test, len(y) - n_test)
    stratify = y if feasible else None
    index = np.arange(len(y))
    try:
        train, test = train_test_split(
            index, test_size=test_fraction, random_state=seed, stratify=stratify
        )
    except ValueError as err:
        raise ValueError(
            f"cannot split {len(y)} samples with test_fraction={test_fraction}: {err}"
        ) from err
    return torch.from_numpy(np.sort(train)), torch.from_numpy(np.sort(test))
