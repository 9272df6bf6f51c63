"""Read the MNIST-family IDX files (raw or gzip) from a local folder, with errors that name files.

The IDX format: a 4-byte big-endian magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data. MNIST images use magic 2051
(unsigned bytes, 3 dims) and labels magic 2049 (unsigned bytes, 1 dim).
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


#: Largest IDX payload read (bytes); MNIST's largest file holds 47 MB.
MAX_IDX_BYTES = 1 << 32

_CHUNK = 1 << 20


def read_idx(path: Path, *, magic: int) -> np.ndarray:
    """Read one IDX file (raw or gzip) of unsigned bytes and return its array.

    The file is streamed: the header is read first, and no more than the bytes it announces are
    ever inflated or held, so a small gzip bomb or a header announcing terabytes costs nothing.

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
        If the magic number, header, data length or compression is wrong (every decoding
        failure, corrupt or truncated gzip included); the message names the file.
    """
    try:
        with _open_stream(path) as stream:
            return _read_stream(stream, path, magic)
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, FileNotFoundError | PermissionError | IsADirectoryError):
            raise
        raise ValueError(f"{path}: corrupt or truncated gzip data ({err})") from err


def _open_stream(path: Path) -> BinaryIO:
    """Open the file as a stream of its decompressed bytes (gzip recognised by its signature)."""
    raw = open(path, "rb")  # noqa: SIM115 - handed to the caller's with block
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _read_stream(stream: BinaryIO, path: Path, magic: int) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(head)} bytes)")
    found = int.from_bytes(head, "big")
    if found != magic:
        raise ValueError(f"{path}: IDX magic number is {found}, expected {magic}")
    ndim = magic & 0xFF
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw_dims[4 * i : 4 + 4 * i], "big") for i in range(ndim)]
    expected = math.prod(dims)
    if expected > MAX_IDX_BYTES:
        raise ValueError(
            f"{path}: IDX header announces shape {tuple(dims)} ({expected} bytes), more than the "
            f"{MAX_IDX_BYTES} bytes an IDX file of this package may hold"
        )
    data = bytearray()
    while len(data) < expected:  # grows with the data actually present, not the header's claim
        chunk = stream.read(min(_CHUNK, expected - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) < expected:
        raise ValueError(
            f"{path}: IDX header announces shape {tuple(dims)} ({expected} bytes) but the file "
            f"holds only {len(data)} data bytes"
        )
    if stream.read(1):
        raise ValueError(
            f"{path}: the file holds more data than its header announces (shape {tuple(dims)}, "
            f"{expected} bytes)"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)
