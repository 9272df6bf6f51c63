"""Read CIFAR-10's python batches (torchvision's layout) without running code from them.

The official ``cifar-10-python.tar.gz`` unpacks to ``cifar-10-batches-py/`` holding five
``data_batch_N`` files and ``test_batch``: each a pickled dict with ``data`` (a uint8 array
``(10000, 3072)``, channel-first rows of 32×32 RGB images) and ``labels``. A pickle can name any
Python callable; this reader's unpickler resolves only the few numpy names an array needs and
refuses every other one, naming it, so a file that is not plain data is never executed.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
#: A batch file is ~31 MB; anything far larger is not one.
MAX_BATCH_BYTES = 256 * 1024 * 1024

#: The only globals a CIFAR batch needs: numpy's array reconstruction (and, in files pickled by
#: Python 3, ``_codecs.encode``, which turns the array's text bytes back into bytes).
_ALLOWED = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _DataUnpickler(pickle.Unpickler):
    """Unpickle plain data and numpy arrays only; any other global is refused by name."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve only numpy's array names (see ``_ALLOWED``)."""
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refers to {module}.{name}; a CIFAR batch holds only arrays and lists"
        )


def find_folder(root: Path) -> Path | None:
    """Return the folder holding the six batch files (``root/cifar-10-batches-py`` or ``root``)."""
    for folder in (root / FOLDER, root):
        if all((folder / name).is_file() for name in (*TRAIN_FILES, TEST_FILE)):
            return folder
    return None


def missing_message(root: Path) -> str:
    """One line naming the folder looked in and the flag that downloads the files."""
    return (
        f"no CIFAR-10 files in {root} (expected {root / FOLDER}/data_batch_1..5 and test_batch, "
        "torchvision's layout); pass download=True to download them"
    )


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)`` of one batch file.

    Raises
    ------
    ValueError
        Naming the file: not a pickle of plain data, no ``data``/``labels``, wrong shapes or
        types, labels outside 0..9.
    """
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    raw = path.read_bytes()
    if len(raw) > MAX_BATCH_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BATCH_BYTES} bytes: not a CIFAR batch")
    try:
        batch = _DataUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{path} is not a CIFAR-10 batch: {err}") from err
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (no dict inside)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise ValueError(f"{path}: 'data' must be a uint8 array (N, 3072)")
    if data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' rows hold {data.shape[1]} values, not 3072 (3×32×32)")
    y = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if y.shape != (len(data),):
        raise ValueError(f"{path}: {y.size} labels for {len(data)} images")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= len(CLASSES)):
        raise ValueError(f"{path}: labels must lie in 0..9, found {int(y.min())}..{int(y.max())}")
    return data.reshape(len(data), 3, 32, 32), y
