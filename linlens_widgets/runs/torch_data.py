"""Any torch data set as a :class:`~linlens_widgets.runs.dataset.Dataset`: :func:`from_torch`.

Reads ``(tensor, int)`` items from a ``torch.utils.data.Dataset`` (``ImageFolder``, ``CIFAR10``,
``FakeData``, a ``Subset``, your own class, ...) or batches from a ``DataLoader``, with the data
set's ``transform`` applied, so the inputs are exactly what the network is trained on. A
``transforms.Normalize`` found in the transform is stored as the display, so thumbnails show the
original pixels; the inputs themselves stay normalised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from linlens_widgets.progress import tqdm
from linlens_widgets.runs._probe import stratified_subset
from linlens_widgets.runs.dataset import MAX_INFERRED_CLASSES, Dataset, stratified_split
from linlens_widgets.runs.display import InputDisplay

__all__ = ["find_normalize", "from_torch"]


def from_torch(
    train: Any,
    test: Any = None,
    *,
    classes: Sequence[str] | None = None,
    limit: int | None = None,
    name: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: bool = True,
) -> Dataset:
    """Read a torch ``Dataset`` (or ``DataLoader``) of ``(tensor, int)`` items into a Dataset.

    Parameters
    ----------
    train : torch.utils.data.Dataset or DataLoader
        Items ``(input, label)``: ``input`` a tensor (its ``transform`` applied, e.g.
        ``ToTensor()``), ``label`` an ``int`` (or 0-d integer tensor). A DataLoader gives
        batches ``(inputs, labels)``.
    test : torch.utils.data.Dataset or DataLoader, optional
        The test split. Without it, a stratified split of ``test_fraction`` of ``train`` is
        drawn with ``seed``.
    classes : sequence of str, optional
        Class names; default: the data set's ``classes`` when it has them, else ``"0"``, ``"1"``,
        ... up to the largest label.
    limit : int, optional
        Read at most this many items of each split: a seeded subset, stratified by class when the
        data set lists its ``targets`` (``ImageFolder``, ``CIFAR10``); a DataLoader is read up to
        it.
    name : str, optional
        Name recorded in run manifests; default the data set's class name, lower-cased.
    test_fraction : float, default 0.2
        Fraction held out as the test split when ``test`` is not given.
    seed : int, default 0
        Seed of the subset and the split.
    progress : bool, default True
        Show a progress bar while reading.

    Returns
    -------
    Dataset
        Inputs ``(N, C, H, W)`` (or ``(N, D)``) exactly as the transform makes them; displayed
        with the ``Normalize`` found in the transform (see :func:`find_normalize`), as pixels in
        ``[0, 1]`` when the values lie there, else rescaled from their smallest to their largest
        value.

    Raises
    ------
    ValueError
        One clear message each: an item that is not ``(tensor, int)`` (its index and what it
        is), inputs of mixed shapes (the index and both shapes), NaN or infinite values (the
        index), a negative label or one outside the named classes (index and label).

    >>> from torchvision import datasets, transforms  # doctest: +SKIP
    >>> tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    >>> data = from_torch(datasets.ImageFolder("photos/", transform=tf))  # doctest: +SKIP
    """
    names = _class_names(train, classes)
    n_named = None if names is None else len(names)
    x_train, y_train = _read(train, "train", limit, seed, n_named, progress)
    if test is None:
        train_idx, test_idx = stratified_split(y_train, test_fraction, seed)
        x_train, y_train, x_test, y_test = (
            x_train[train_idx],
            y_train[train_idx],
            x_train[test_idx],
            y_train[test_idx],
        )
    else:
        x_test, y_test = _read(test, "test", limit, seed, n_named, progress)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"test inputs have shape {tuple(x_test.shape[1:])} but train inputs "
                f"{tuple(x_train.shape[1:])}"
            )
    if names is None:
        n_classes = int(max(int(y_train.max()), int(y_test.max()))) + 1
        names = tuple(str(c) for c in range(n_classes))
    display = _display(train, x_train, x_test)
    label = name or type(_base(train)).__name__.lower()
    return Dataset(label, x_train, y_train, x_test, y_test, tuple(names), display)


def find_normalize(source: Any) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Return ``(mean, std)`` of the ``transforms.Normalize`` in a data set's transform, or None.

    Looks through ``DataLoader.dataset``, ``Subset.dataset`` and nested ``Compose`` (torchvision's
    ``transforms`` and ``transforms.v2``); the last Normalize wins.

    >>> from torchvision import transforms
    >>> class D:
    ...     transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.5, 0.2)])
    >>> find_normalize(D())
    ((0.5,), (0.2,))
    """
    found = None
    for t in _transforms(getattr(_base(source), "transform", None)):
        mean, std = getattr(t, "mean", None), getattr(t, "std", None)
        if type(t).__name__ == "Normalize" and mean is not None and std is not None:
            found = (_floats(mean), _floats(std))
    return found


# ---------------------------------------------------------------- reading


def _read(
    source: Any, split: str, limit: int | None, seed: int, n_named: int | None, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    batches = _batches(source, split, limit, seed)
    total = _length(source, limit)
    xs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
    first_shape: tuple[int, ...] | None = None
    bar = tqdm(total=total, desc=f"reading {split}", unit="item", disable=not progress, leave=False)
    with bar:
        for index, x, y in batches:
            if first_shape is None:
                first_shape = tuple(x.shape[1:])
            if tuple(x.shape[1:]) != first_shape:
                raise ValueError(
                    f"{split} item {index} has shape {tuple(x.shape[1:])} but item 0 has "
                    f"{first_shape}; every input must have one shape (add a Resize to the "
                    "transform)"
                )
            _check_values(x, y, index, split, n_named)
            xs.append(x)
            ys.append(y)
            bar.update(len(y))
    if not xs:
        raise ValueError(f"the {split} data holds no items")
    x_all = torch.cat(xs)
    if x_all.ndim == 3:  # (N, H, W) grey images: flat, as from_tensors holds them
        x_all = x_all.reshape(len(x_all), -1)
    return x_all.contiguous(), torch.cat(ys)


def _batches(
    source: Any, split: str, limit: int | None, seed: int
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Yield ``(index of the first item, inputs (B, ...), labels (B,))`` in reading order."""
    if isinstance(source, torch.utils.data.DataLoader):
        start = 0
        for b, batch in enumerate(source):
            x, y = _as_batch(batch, split, b)
            if limit is not None and start + len(y) > limit:
                x, y = x[: limit - start], y[: limit - start]
            yield start, x, y
            start += len(y)
            if limit is not None and start >= limit:
                return
        return
    if not (hasattr(source, "__getitem__") and hasattr(source, "__len__")):
        raise ValueError(
            f"{split} must be a torch.utils.data.Dataset (with __len__ and __getitem__) or a "
            f"DataLoader, got {type(source).__name__}"
        )
    for i in _indices(source, limit, seed):
        x, y = _as_item(source[i], split, i)
        yield i, x[None], y[None]


def _indices(source: Any, limit: int | None, seed: int) -> list[int]:
    n = len(source)
    if limit is None or limit >= n:
        return list(range(n))
    targets = getattr(source, "targets", None)
    if targets is not None and len(targets) == n:
        labels = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        if int(labels.min()) >= 0:
            return stratified_subset(labels, limit, seed=seed).tolist()
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n, limit, replace=False).tolist())


def _length(source: Any, limit: int | None) -> int | None:
    base = source.dataset if isinstance(source, torch.utils.data.DataLoader) else source
    try:
        n = len(base)
    except TypeError:  # an IterableDataset
        return limit
    return n if limit is None else min(n, limit)


def _as_item(item: Any, split: str, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise ValueError(
            f"{split} item {index} is {_what(item)}; items must be (tensor, int) pairs"
        )
    x, y = item
    if not isinstance(x, torch.Tensor):
        hint = " (add transforms.ToTensor() to the transform)" if _is_pil(x) else ""
        raise ValueError(
            f"{split} item {index} is ({_what(x)}, {_what(y)}); items must be (tensor, int) "
            f"pairs{hint}"
        )
    label = _label(y)
    if label is None:
        raise ValueError(f"{split} item {index} is (tensor, {_what(y)}); the label must be an int")
    return x.detach().to("cpu", torch.float32), torch.tensor(label, dtype=torch.int64)


def _as_batch(batch: Any, split: str, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError(f"{split} batch {b} is {_what(batch)}; batches must be (inputs, labels)")
    x, y = batch
    ok = isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and y.ndim == 1
    if not ok or y.is_floating_point() or y.dtype == torch.bool or len(y) != len(x):
        raise ValueError(
            f"{split} batch {b} is ({_what(x)}, {_what(y)}); batches must be (inputs tensor, "
            "integer labels tensor) of one length"
        )
    return x.detach().to("cpu", torch.float32), y.detach().to("cpu", torch.int64)


def _check_values(
    x: torch.Tensor, y: torch.Tensor, start: int, split: str, n_named: int | None
) -> None:
    finite = torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if not bool(finite.all()):
        index = start + int(torch.nonzero(~finite)[0])
        raise ValueError(f"{split} item {index} holds NaN or infinite values")
    bad = (y < 0) | (y >= (n_named if n_named is not None else MAX_INFERRED_CLASSES))
    if bool(bad.any()):
        k = int(torch.nonzero(bad)[0])
        hint = (
            f"the data set names {n_named} classes, so labels lie in 0..{n_named - 1}"
            if n_named is not None
            else f"labels lie in 0..{MAX_INFERRED_CLASSES - 1} unless classes= names more"
        )
        raise ValueError(f"{split} item {start + k} has label {int(y[k])}; {hint}")


# ---------------------------------------------------------------- what the data set tells


def _base(source: Any) -> Any:
    """Return the data set behind a DataLoader or (nested) Subset (its classes, its transform)."""
    seen = 0
    while seen < 16:
        inner = getattr(source, "dataset", None)
        if inner is None or inner is source:
            return source
        source, seen = inner, seen + 1
    return source


def _class_names(source: Any, classes: Sequence[str] | None) -> tuple[str, ...] | None:
    if classes is not None:
        return tuple(str(c) for c in classes)
    found = getattr(_base(source), "classes", None)
    if isinstance(found, (list, tuple)) and found and all(isinstance(c, str) for c in found):
        return tuple(found)
    return None


def _display(source: Any, x_train: torch.Tensor, x_test: torch.Tensor) -> InputDisplay:
    shape = tuple(x_train.shape[1:])
    if len(shape) == 1:
        return InputDisplay.features([f"x{i}" for i in range(shape[0])])
    if len(shape) == 2:
        shape = (1, *shape)
    normalize = find_normalize(source)
    if normalize is not None and len(shape) == 3:
        return InputDisplay.normalize(shape, *normalize)
    lo = min(float(x_train.min()), float(x_test.min()))
    hi = max(float(x_train.max()), float(x_test.max()))
    if lo >= 0.0 and hi <= 1.0:
        return InputDisplay.unit(shape)
    span = hi - lo if hi > lo else 1.0
    return InputDisplay.normalize(shape, mean=-lo / span, std=1.0 / span)


def _transforms(transform: Any, depth: int = 0) -> Iterator[Any]:
    if transform is None or depth > 8:
        return
    yield transform
    for inner in getattr(transform, "transforms", None) or ():
        yield from _transforms(inner, depth + 1)


def _floats(value: Any) -> tuple[float, ...]:
    if isinstance(value, torch.Tensor):
        return tuple(float(v) for v in value.flatten())
    if isinstance(value, (int, float)):
        return (float(value),)
    return tuple(float(v) for v in value)


def _label(y: Any) -> int | None:
    if isinstance(y, bool):
        return None
    if isinstance(y, (int, np.integer)):
        return int(y)
    if isinstance(y, torch.Tensor) and y.numel() == 1 and not y.is_floating_point():
        return None if y.dtype == torch.bool else int(y.item())
    return None


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.")


def _what(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__module__.split('.')[0]}.{type(value).__name__}".replace(
        "builtins.", ""
    )
