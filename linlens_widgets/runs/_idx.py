"""Read the MNIST-family IDX files (raw or gzip) from a local folder, with errors that name files.

The IDX format: a 4-byte big-endian magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data. MNIST images use magic 2051
(unsigned bytes, 3 dims) and labels magic 2049 (unsigned bytes, 1 dim).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

#: The four files of an MNIST-style dataset, by role, without the optional ``.gz`` suffix.
STANDARD_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class IdxFiles:
    """Paths of the four IDX files of one MNIST-style dataset."""

    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path


def candidate_folders(root: Path, torchvision_folder: str) -> list[Path]:
    """Folders searched for the IDX files, in order of preference.

    ``root`` itself, ``root/raw``, and torchvision's layout ``root/<torchvision_folder>/raw`` (for
    example ``root/MNIST/raw``), so a folder prepared by torchvision works as well as a folder
    holding the four files directly.
    """
    return [root, root / "raw", root / torchvision_folder / "raw"]


def _variants(stem: str) -> list[str]:
    """Return the names of one standard file: as published, gzipped, and spelled ``.idx``."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte, common in mirrors
    return [stem, f"{stem}.gz", dotted, f"{dotted}.gz"]


def find_idx_files(root: Path, torchvision_folder: str) -> IdxFiles | None:
    """Return the first candidate folder's four files, or ``None`` when no folder holds all four."""
    for folder in candidate_folders(root, torchvision_folder):
        found = {}
        for role, stem in STANDARD_FILES.items():
            match = next((folder / n for n in _variants(stem) if (folder / n).is_file()), None)
            if match is None:
                break
            found[role] = match
        else:
            return IdxFiles(**found)
    return None


def missing_files_message(root: Path, torchvision_folder: str, dataset: str) -> str:
    """Explain which files were expected where, for the ``FileNotFoundError`` of a loader."""
    folders = ", ".join(str(f) for f in candidate_folders(root, torchvision_folder))
    names = ", ".join(STANDARD_FILES.values())
    return (
        f"{dataset}: could not find the four IDX files in {root}. Expected {names} (each raw or "
        f"with a .gz suffix) together in one of: {folders}. Download them yourself or pass "
        "download=True to let torchvision fetch them."
    )


def read_idx(path: Path, *, magic: int) -> np.ndarray:
    """Read one IDX file (raw or gzip) of unsigned bytes and return its array.

    Parameters
    ----------
    path : Path
        The file; a ``.gz`` suffix or a gzip signature means gzip-compressed.
    magic : int
        Expected magic number: 2051 for images, 2049 for labels.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of the dimensions stored in the header.

    Raises
    ------
    ValueError
        If the magic number, header or data length is wrong; the message names the file.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: IDX magic number is {found}, expected {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {tuple(dims)} ({expected} bytes) but the file "
            f"holds {len(data) - header} data bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip signature, whatever the suffix says
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from err
    return raw
