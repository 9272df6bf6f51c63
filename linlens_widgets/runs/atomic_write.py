"""Write files and folders atomically: build them at a temporary sibling, then rename into place.

One file (:func:`write_file_atomically`): the content goes to a fresh, exclusively created
temporary sibling (``O_CREAT | O_EXCL`` through :func:`tempfile.mkstemp`, so a file or link planted
at a predictable name is never opened, followed or overwritten), is flushed, optionally checked,
and renamed over the target. A symbolic link *at the target path* is replaced by the new file; the
file it pointed to is left untouched.

One folder (:func:`replace_directory`): a run is built in a dot-named sibling
(``.<name>.tmp-<random>``) and renamed into place; an overwrite renames the old folder aside
(``.<name>.old-<random>``) first. A kill between the two renames is undone by
:func:`linlens_widgets.runs._swap.recover`, which loading and saving call first; temporary
siblings are removed on every failure this process sees, and loaders ignore them.

Either way a failure at any point (an exception, a full disk, a failed check, a kill) leaves what
was at the target before, or the complete new content.

Output targets (:func:`check_output_target`): a file is written only where a regular file, a link
or nothing is, inside a folder. A device (``/dev/null``, ``/dev/full``), a FIFO or a socket is
refused before anything is written: renaming over a device node would replace it (as root), and
opening a FIFO blocks.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from linlens_widgets.runs import _swap

__all__ = ["check_output_target", "replace_directory", "write_file_atomically"]

FILE_MODE = 0o644
"""Permissions of a written file (``mkstemp`` creates it readable by its owner only)."""


def check_output_target(path: str | Path) -> Path:
    """Refuse an output path that is not a regular file, a link or absent, or not in a folder.

    Parameters
    ----------
    path : str or Path
        Where a file is about to be written.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        ``"<path> is not a regular file (a device)"`` for a device, FIFO or socket;
        ``NotADirectoryError`` (``"<ancestor> is a file, not a folder"``) when a component of
        the path is a file; ``IsADirectoryError`` for a folder.
    """
    path = Path(path)
    try:
        mode: int | None = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # an ancestor that is a file: said below
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a folder, not a file")
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise OSError(f"{path} is not a regular file ({_kind(mode)}); choose a file name")
    parent = path.parent
    while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{parent} is a file, not a folder; choose another path")
    return path


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


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
        When the folder cannot be written, the disk is full, ``path`` is a folder, or it is
        not a regular file (a device, FIFO or socket: see :func:`check_output_target`).
    Exception
        Whatever ``check`` raises.
    """
    path = check_output_target(path)
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
        check_output_target(path)  # nor one planted while the content was written
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def replace_directory(
    target: Path,
    write: Callable[[Path], None],
    *,
    overwrite: bool,
    check_replaceable: Callable[[Path], None],
) -> None:
    """Create ``target`` by calling ``write(tmp_dir)`` and renaming ``tmp_dir`` into place.

    Parameters
    ----------
    target : Path
        The directory to create or replace.
    write : callable
        Fills the (empty, existing) temporary directory it receives.
    overwrite : bool
        Replace an existing ``target``: the old one is renamed aside, the new one renamed in,
        and the old one deleted only then; if the swap fails, the old one is put back.
    check_replaceable : callable
        Raises ``FileExistsError`` (naming the reason) when an existing ``target`` is not
        something we may replace; guards against deleting an unrelated folder or file.

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is False, or it exists and is not replaceable.
    """
    target = Path(target)
    _swap.recover(target)
    _check_target(target, overwrite, check_replaceable)
    target.parent.mkdir(parents=True, exist_ok=True)
    _swap.discard_stale_tmp(target)
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    _step("tmp-created")
    try:
        write(tmp)
        _fsync_dir(tmp)
        _step("written")
        _check_target(target, overwrite, check_replaceable)  # it may have appeared meanwhile
        if target.exists():
            _replace(tmp, target)
        else:
            os.rename(tmp, target)
            _step("renamed-in")
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_target(target: Path, overwrite: bool, check_replaceable: Callable[[Path], None]) -> None:
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    check_replaceable(target)


def _replace(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``; restore ``target`` if the second rename fails.

    A kill between the renames leaves the old folder aside, which :func:`_swap.recover` restores.
    """
    old = _sibling(target, "old")
    os.rename(target, old)
    _fsync_dir(target.parent)
    _step("old-aside")
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    _step("new-in")
    _swap.discard(old)
    _step("old-removed")


def _step(name: str) -> None:
    """Mark a step of a save; does nothing (tests replace it to kill the process there)."""


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{uuid.uuid4().hex[:12]}"


def _fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk where the platform allows it (not on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
