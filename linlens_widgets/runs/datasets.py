"""Dataset loaders: digits (bundled), MNIST-family and CIFAR-10 from disk, any torch data set.

Every loader returns a :class:`~linlens_widgets.runs.dataset.Dataset` holding inputs exactly as the
network receives them, with an :class:`~linlens_widgets.runs.display.InputDisplay` saying how they
are shown. The grey loaders here hold flat float32 inputs ``(N, H * W)`` in ``[0, 1]`` (what an
MLP takes), shown as ``(H, W)`` images; :func:`cifar10` holds ``(N, 3, 32, 32)`` colour images in
``[0, 1]``; :func:`from_torch` reads any torch data set with its transform applied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from linlens_widgets.runs import _cifar, _idx
from linlens_widgets.runs.dataset import Dataset, stratified_split
from linlens_widgets.runs.display import InputDisplay
from linlens_widgets.runs.torch_data import from_torch

__all__ = ["Dataset", "cifar10", "digits", "fashion_mnist", "from_torch", "mnist"]

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
        ``name="digits"``, flat ``(64,)`` inputs shown as 8×8 images, classes ``"0"`` .. ``"9"``.

    >>> data = digits()
    >>> len(data.y_train), len(data.y_test)
    (1347, 450)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(np.asarray(bunch.data, dtype=np.float32) / 16.0)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    train_idx, test_idx = stratified_split(y, test_fraction, seed)
    return Dataset(
        "digits",
        x[train_idx],
        y[train_idx],
        x[test_idx],
        y[test_idx],
        DIGIT_CLASSES,
        InputDisplay.unit((8, 8)),
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


def cifar10(root: str | Path, download: bool = False) -> Dataset:
    """CIFAR-10 (50,000 + 10,000 32×32 colour images, 10 classes) from torchvision's layout.

    Reads ``root/cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``, ``test_batch``),
    the folder torchvision's ``CIFAR10(root, download=True)`` fills, with a reader that accepts
    only plain arrays (the batches are pickles; nothing in them is executed).

    Parameters
    ----------
    root : str or Path
        The folder holding ``cifar-10-batches-py/`` (or those files directly).
    download : bool, default False
        Let torchvision download and unpack the files into ``root`` when they are missing.
        Nothing is downloaded unless this is True.

    Returns
    -------
    Dataset
        ``name="cifar10"``, inputs ``(N, 3, 32, 32)`` float32 in ``[0, 1]`` (shown as they
        are), the official train/test split. For normalised inputs, read torchvision's
        ``CIFAR10`` with ``Normalize`` in its transform through :func:`from_torch`.

    Raises
    ------
    FileNotFoundError
        One line naming the folder and the ``download`` flag, when the files are missing.
    ValueError
        Naming the file, when a batch is damaged or is not plain data.

    >>> data = cifar10("~/data")  # doctest: +SKIP
    """
    root = Path(root).expanduser()
    folder = _cifar.find_folder(root)
    if folder is None and download:
        import torchvision.datasets as tvd

        for train in (True, False):
            tvd.CIFAR10(root=str(root), train=train, download=True)
        folder = _cifar.find_folder(root)
    if folder is None:
        raise FileNotFoundError(_cifar.missing_message(root))
    parts = [_cifar.read_batch(folder / name) for name in _cifar.TRAIN_FILES]
    x_test, y_test = _cifar.read_batch(folder / _cifar.TEST_FILE)
    return Dataset(
        "cifar10",
        _unit_images(np.concatenate([x for x, _ in parts])),
        torch.from_numpy(np.concatenate([y for _, y in parts])),
        _unit_images(x_test),
        torch.from_numpy(y_test),
        _cifar.CLASSES,
        InputDisplay.unit((3, 32, 32)),
    )


def _unit_images(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0)


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
        classes,
        InputDisplay.unit((h, w)),
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
