"""Write a directory atomically: build it in a temporary sibling, then rename it into place.

A failure at any point (an exception, a full disk, a kill) leaves a loadable run at the target
path: the old one or the new one. Temporary siblings are dot-named (``.<name>.tmp-<random>``),
removed on every failure this process sees; a killed process can leave one behind, which loaders
ignore and a later save removes. An overwrite renames the old folder aside
(``.<name>.old-<random>``) before renaming the new one in; a kill between the two renames is
undone by :func:`linlens_widgets.runs._swap.recover`, which loading and saving call first.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from linlens_widgets.runs import _swap


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
