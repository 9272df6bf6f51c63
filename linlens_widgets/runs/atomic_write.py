"""Write one file atomically: a fresh, exclusively created temporary sibling, then a rename.

A failure at any point (an exception, a full disk, a failed check) leaves whatever was at the
target path before intact, and removes the temporary file. The temporary name is new and random
for every write and is created with ``O_CREAT | O_EXCL`` (:func:`tempfile.mkstemp`), so a file or
symbolic link planted at a predictable name is never opened, followed or overwritten. A symbolic
link *at the target path* is replaced by the new file; the file it pointed to is left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_file_atomically"]

FILE_MODE = 0o644
"""Permissions of a written file (``mkstemp`` creates it readable by its owner only)."""


def write_file_atomically(
    path: str | Path, data: bytes, *, check: Callable[[Path], None] | None = None
) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling that is renamed into place.

    Parameters
    ----------
    path : str or Path
        The file to create or replace. Its folder is created when missing.
    data : bytes
        The complete new content.
    check : callable, optional
        Called with the temporary file's path once it is written and flushed; raise to refuse
        the content (for example when it does not parse). Nothing is renamed then.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        When the folder cannot be written, the disk is full, or ``path`` is a folder.
    Exception
        Whatever ``check`` raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):  # not on Windows, where the mode is not used anyway
                os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
