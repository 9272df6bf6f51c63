"""Write a directory atomically: build it in a temporary sibling, then rename it into place.

A failure at any point (an exception, a full disk, a kill) leaves whatever was at the target path
before intact. Temporary siblings are dot-named (``.<name>.tmp-<random>``), removed on every
failure this process sees; only a killed process can leave one behind, and loaders ignore them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def replace_directory(
    target: Path,
    write: Callable[[Path], None],
    *,
    overwrite: bool,
    may_replace: Callable[[Path], bool],
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
    may_replace : callable
        Says whether an existing ``target`` is something we may replace (e.g. a run folder); guards
        against deleting an unrelated folder by accident.

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is False, or it exists and is not replaceable.
    """
    target = Path(target)
    _check_target(target, overwrite, may_replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    tmp.mkdir()
    try:
        write(tmp)
        _fsync_dir(tmp)
        _check_target(target, overwrite, may_replace)  # it may have appeared meanwhile
        if target.exists():
            _swap(tmp, target)
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_target(target: Path, overwrite: bool, may_replace: Callable[[Path], bool]) -> None:
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    if target.is_symlink() or not target.is_dir() or not may_replace(target):
        raise FileExistsError(f"{target} exists and is not a run folder; refusing to replace it")


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``; restore ``target`` if the second rename fails."""
    old = _sibling(target, "old")
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
