"""Datasets: the :class:`Dataset` record and its loaders (digits offline, MNIST-family from disk).

Every dataset holds FLAT float32 inputs ``x`` of shape ``(N, D)`` with values in ``[0, 1]`` and
int64 labels; ``image_shape = (H, W)`` with ``H * W == D`` says how to display one input (or one
class row of its effective weights) as an image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from linlens_widgets.runs import _idx

__all__ = ["Dataset", "class_labels", "digits", "fashion_mnist", "flat_inputs", "mnist"]

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of flat image-like inputs with integer labels.

    Attributes
    ----------
    name : str
        Short name recorded in run manifests (``"digits"``, ``"mnist"``, ...).
    x_train, x_test : torch.Tensor
        float32 ``(N, D)`` inputs in ``[0, 1]``.
    y_train, y_test : torch.Tensor
        int64 ``(N,)`` labels in ``[0, n_classes)``.
    image_shape : tuple[int, int]
        ``(H, W)`` with ``H * W == D``.
    classes : tuple[str, ...]
        One display name per class.

    Build one with a loader (:func:`digits`, :func:`mnist`, :func:`fashion_mnist`) or from your own
    arrays with :meth:`from_tensors`; the constructor validates everything.

    >>> data = digits()
    >>> data.x_train.shape[1], data.image_shape, data.n_classes
    (64, (8, 8), 10)
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, int]
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        _validate(self)

    @property
    def n_features(self) -> int:
        """Input dimension ``D`` (``H * W``)."""
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(classes)``)."""
        return len(self.classes)

    def content_hash(self) -> str:
        """Return the sha256 (hex) of the four tensors: dtype, shape and bytes, in a fixed order.

        Stable across processes and platforms (bytes are hashed little-endian), so a run's manifest
        can tell whether it was trained on exactly this data.

        >>> digits().content_hash() == digits().content_hash()
        True
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
            f"image_shape={self.image_shape}, classes={self.n_classes})"
        )

    @classmethod
    def from_tensors(
        cls,
        x: Any,
        y: Any,
        *,
        x_test: Any = None,
        y_test: Any = None,
        image_shape: Sequence[int] | None = None,
        classes: Sequence[str] | None = None,
        name: str = "custom",
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> Dataset:
        """Make a Dataset from your own arrays (numpy or torch).

        Parameters
        ----------
        x : array (N, H, W), (N, 1, H, W) or (N, D)
            Inputs. float values must lie in ``[0, 1]``; ``uint8`` is divided by 255.
        y : array (N,)
            Integer labels ``0 .. n_classes - 1``.
        x_test, y_test : array, optional
            A test split. Without it, a stratified split of ``test_fraction`` is drawn with
            ``seed``.
        image_shape : (H, W), optional
            Needed for flat ``x`` unless ``D`` is a perfect square (then ``(√D, √D)``); without
            either, ``(1, D)``.
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
            Naming the problem: wrong dimensions, mismatched lengths, values outside ``[0, 1]``,
            non-integer or out-of-range labels, a split that leaves a side empty.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> data = Dataset.from_tensors(rng.random((100, 4, 4)), rng.integers(0, 3, 100))
        >>> data.x_train.shape, data.image_shape, data.n_classes
        (torch.Size([80, 16]), (4, 4), 3)
        """
        x_flat, shape = flat_inputs(x, image_shape, what="x")
        labels = class_labels(y, len(x_flat), what="y")
        if (x_test is None) != (y_test is None):
            raise ValueError("pass both x_test and y_test, or neither")
        n_named = None if classes is None else len(classes)
        _check_label_range(labels, n_named, what="y")
        if x_test is None:
            train_idx, test_idx = _stratified_split(labels, test_fraction, seed)
            x_train, y_train = x_flat[train_idx], labels[train_idx]
            x_te, y_te = x_flat[test_idx], labels[test_idx]
        else:
            x_train, y_train = x_flat, labels
            x_te, test_shape = flat_inputs(x_test, shape, what="x_test")
            if test_shape != shape:
                raise ValueError(f"x_test images are {test_shape}, x images are {shape}")
            y_te = class_labels(y_test, len(x_te), what="y_test")
            _check_label_range(y_te, n_named, what="y_test")
        n_classes = int(max(int(y_train.max()), int(y_te.max()))) + 1
        names = tuple(str(c) for c in range(n_classes)) if classes is None else tuple(classes)
        return cls(name, x_train, y_train, x_te, y_te, shape, names)


def digits(*, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (1,797 images, bundled, no download).

    Pixel values 0..16 are scaled to ``[0, 1]``; the train/test split is stratified by class and
    fixed by ``seed``.

    Parameters
    ----------
    test_fraction : float, default 0.25
        Fraction of the images in the test split (450 of 1,797 by default).
    seed : int, default 0
        Seed of the split.

    Returns
    -------
    Dataset
        ``name="digits"``, ``image_shape=(8, 8)``, classes ``"0"`` .. ``"9"``.

    >>> data = digits()
    >>> len(data.y_train), len(data.y_test)
    (1347, 450)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(np.asarray(bunch.data, dtype=np.float32) / 16.0)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    train_idx, test_idx = _stratified_split(y, test_fraction, seed)
    return Dataset(
        "digits", x[train_idx], y[train_idx], x[test_idx], y[test_idx], (8, 8), DIGIT_CLASSES
    )


def mnist(root: str | Path, download: bool = False) -> Dataset:
    """MNIST (60,000 + 10,000 28×28 digits) from a local folder of the standard IDX files.

    Parameters
    ----------
    root : str or Path
        A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each raw or ``.gz``), either
        directly, in ``root/raw/``, or in torchvision's layout ``root/MNIST/raw/``.
    download : bool, default False
        Let torchvision download the files into ``root/MNIST/raw/`` when they are missing.
        Nothing is downloaded unless this is True.

    Returns
    -------
    Dataset
        ``name="mnist"``, inputs scaled to ``[0, 1]``, the official train/test split.

    Raises
    ------
    FileNotFoundError
        If the folder or any of the four files is missing; the message lists the expected files and
        the folders searched.

    >>> data = mnist("~/data/mnist")  # doctest: +SKIP
    """
    return _load_idx_dataset(root, "mnist", "MNIST", DIGIT_CLASSES, download)


def fashion_mnist(root: str | Path, download: bool = False) -> Dataset:
    """Fashion-MNIST (Zalando's 28×28 clothing images) from a local folder of the IDX files.

    Same file names and folder layouts as :func:`mnist` (torchvision's layout is
    ``root/FashionMNIST/raw/``).

    Parameters
    ----------
    root : str or Path
        Folder of the four IDX files (raw or ``.gz``).
    download : bool, default False
        Let torchvision download missing files; never done otherwise.

    Returns
    -------
    Dataset
        ``name="fashion_mnist"``, classes ``"T-shirt/top"`` .. ``"Ankle boot"``.

    >>> data = fashion_mnist("~/data/fashion")  # doctest: +SKIP
    """
    return _load_idx_dataset(root, "fashion_mnist", "FashionMNIST", FASHION_CLASSES, download)


def _load_idx_dataset(
    root: str | Path, name: str, tv_folder: str, classes: tuple[str, ...], download: bool
) -> Dataset:
    root = Path(root).expanduser()
    files = _idx.find_idx_files(root, tv_folder)
    if files is None and download:
        _torchvision_download(root, tv_folder)
        files = _idx.find_idx_files(root, tv_folder)
    if files is None:
        raise FileNotFoundError(_idx.missing_files_message(root, tv_folder, name))
    x_train = _idx.read_idx(files.train_images, magic=_idx.IMAGES_MAGIC)
    y_train = _idx.read_idx(files.train_labels, magic=_idx.LABELS_MAGIC)
    x_test = _idx.read_idx(files.test_images, magic=_idx.IMAGES_MAGIC)
    y_test = _idx.read_idx(files.test_labels, magic=_idx.LABELS_MAGIC)
    _check_pair(x_train, y_train, files.train_images, files.train_labels)
    _check_pair(x_test, y_test, files.test_images, files.test_labels)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"{files.train_images} holds {x_train.shape[1:]} images but {files.test_images} "
            f"holds {x_test.shape[1:]}"
        )
    for labels, path in ((y_train, files.train_labels), (y_test, files.test_labels)):
        if labels.size and int(labels.max()) >= len(classes):
            raise ValueError(f"{path}: label {int(labels.max())} outside 0..{len(classes) - 1}")
    h, w = x_train.shape[1:]
    return Dataset(
        name,
        _scaled(x_train),
        torch.from_numpy(y_train.astype(np.int64)),
        _scaled(x_test),
        torch.from_numpy(y_test.astype(np.int64)),
        (h, w),
        classes,
    )


def _torchvision_download(root: Path, tv_folder: str) -> None:
    import torchvision.datasets as tvd

    loader = getattr(tvd, tv_folder)
    for train in (True, False):
        loader(root=str(root), train=train, download=True)


def _check_pair(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path) -> None:
    if images.ndim != 3:
        raise ValueError(f"{image_path}: expected (N, H, W) images, found shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{label_path} holds {labels.shape} labels for {len(images)} images in {image_path}"
        )


def _scaled(images: np.ndarray) -> torch.Tensor:
    flat = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return torch.from_numpy(flat)


# ---------------------------------------------------------------- validation and conversion


def _validate(data: Dataset) -> None:
    """Check dtypes, shapes, ranges and labels of a Dataset; raise ValueError naming the field."""
    if not data.name or not isinstance(data.name, str):
        raise ValueError(f"Dataset.name must be a non-empty string, got {data.name!r}")
    if len(data.image_shape) != 2 or min(data.image_shape) < 1:
        raise ValueError(f"image_shape must be (H, W) with positive sizes, got {data.image_shape}")
    d = data.image_shape[0] * data.image_shape[1]
    for xs, ys in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = getattr(data, xs), getattr(data, ys)
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32 or x.ndim != 2:
            raise ValueError(f"{xs} must be a float32 tensor of shape (N, D), got {_describe(x)}")
        if x.shape[1] != d:
            raise ValueError(f"{xs} has D={x.shape[1]} features but image_shape {data.image_shape}")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != (len(x),):
            raise ValueError(
                f"{ys} must be an int64 tensor of shape ({len(x)},), got {_describe(y)}"
            )
        if len(x) == 0:
            raise ValueError(f"{xs} is empty")
        if int(y.min()) < 0 or int(y.max()) >= len(data.classes):
            raise ValueError(
                f"{ys} holds labels {int(y.min())}..{int(y.max())} but there are "
                f"{len(data.classes)} classes"
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


def flat_inputs(
    x: Any, image_shape: Sequence[int] | None, *, what: str
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Return float32 (N, D) inputs in [0, 1] and their (H, W), refusing anything else.

    Shared by :class:`Dataset` and the probe set, so both accept the same inputs.

    Parameters
    ----------
    x : array-like
        ``(N, D)``, ``(N, H, W)`` or ``(N, 1, H, W)``: float in [0, 1], uint8 or bool.
    image_shape : sequence of int, optional
        ``(H, W)`` to check against (and to shape ``(N, D)`` inputs by).
    what : str
        How error messages name the argument.

    Raises
    ------
    ValueError
        For another shape, dtype, non-finite values or values outside [0, 1].
    """
    t = _as_tensor(x, what)
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim == 3:
        shape = (int(t.shape[1]), int(t.shape[2]))
        if image_shape is not None and tuple(image_shape) != shape:
            raise ValueError(f"{what} holds {shape} images but image_shape={tuple(image_shape)}")
        t = t.reshape(len(t), -1)
    elif t.ndim == 2:
        shape = _image_shape_for(int(t.shape[1]), image_shape, what)
    else:
        raise ValueError(
            f"{what} must have shape (N, D), (N, H, W) or (N, 1, H, W) (grayscale); "
            f"got {tuple(t.shape)}"
        )
    return _unit_float(t, what), shape


def _image_shape_for(d: int, image_shape: Sequence[int] | None, what: str) -> tuple[int, int]:
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != d:
            raise ValueError(f"image_shape {tuple(image_shape)} does not match D={d} of {what}")
        return shape  # type: ignore[return-value]
    side = round(d**0.5)
    return (side, side) if side * side == d else (1, d)


def _unit_float(t: torch.Tensor, what: str) -> torch.Tensor:
    if t.dtype == torch.uint8:
        return t.to(torch.float32) / 255.0
    if t.dtype == torch.bool:
        return t.to(torch.float32)
    if not t.is_floating_point():
        raise ValueError(f"{what} must be float in [0, 1] or uint8 in [0, 255], got {t.dtype}")
    t = t.to(torch.float32)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what} contains NaN or infinite values")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{what} values must lie in [0, 1], found {lo:.4g}..{hi:.4g}; rescale them first, "
            "e.g. (x - x.min()) / (x.max() - x.min())"
        )
    return t.contiguous()


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


def _check_label_range(labels: torch.Tensor, n_classes: int | None, *, what: str) -> None:
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


def _stratified_split(
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
