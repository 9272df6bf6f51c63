"""What a run folder may contain, and recovery from an overwrite that was interrupted.

A run folder written by this package holds exactly: ``manifest.json``, ``probe.safetensors``,
``checkpoints/<digits>.safetensors`` and ``analysis/<name>.safetensors`` (plus the dot-named
temporary files of an attachment write that was interrupted). :func:`foreign_entry` finds anything
else, so an overwrite never deletes a file the package did not write, and :func:`check_replaceable`
recognises a run by its own manifest before anything is replaced.

An overwrite renames the old run aside (``.<name>.old-<random>``), renames the new one in, and
deletes the old one. A process killed between those steps leaves the old run aside and nothing at
the path; :func:`recover` (called by loading and by the next save) puts it back, and removes an
old run left aside after a swap that did complete.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from linlens_widgets.runs import _manifest, _safe_json
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs.analysis_files import ANALYSIS_DIR

_CHECKPOINT = re.compile(r"^[0-9]{4,}\.safetensors$")
_ATTACHMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.safetensors$")
_ATTACHMENT_TMP = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.tmp-[0-9a-f]{12}$")
#: Age after which a temporary sibling counts as left behind by a killed save (seconds).
STALE_TMP_AGE_S = 600.0
_TOP_FILES = frozenset([_manifest.MANIFEST, _manifest.PROBE_FILE])


def foreign_entry(folder: Path) -> Path | None:
    """Return the first entry of ``folder`` that a saved run would not hold, or None.

    Symlinks are foreign wherever they are; so are sub-folders other than ``checkpoints/`` and
    ``analysis/`` and files not named as this package names them.
    """
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            return entry
        if entry.name in (_manifest.CHECKPOINT_DIR, ANALYSIS_DIR) and entry.is_dir():
            allowed = (
                (_CHECKPOINT,)
                if entry.name == _manifest.CHECKPOINT_DIR
                else (_ATTACHMENT, _ATTACHMENT_TMP)
            )
            for item in sorted(entry.iterdir()):
                if item.is_symlink() or not item.is_file():
                    return item
                if not any(p.match(item.name) for p in allowed):
                    return item
        elif not (entry.name in _TOP_FILES and entry.is_file()):
            return entry
    return None


def is_run_manifest(folder: Path) -> bool:
    """Whether ``folder/manifest.json`` is a regular file in this package's run format."""
    file = folder / _manifest.MANIFEST
    if file.is_symlink() or not file.is_file():
        return False
    try:
        with open(file, "rb") as f:
            raw = f.read(_manifest.MAX_MANIFEST_BYTES + 1)
        data = _safe_json.loads(raw, _manifest.MANIFEST)
    except (OSError, RunFormatError):
        return False
    if not isinstance(data, dict):
        return False
    version = data.get("schema_version")
    return (
        data.get("format") == _manifest.FORMAT
        and isinstance(version, int)
        and not isinstance(version, bool)
        and 1 <= version <= _manifest.SCHEMA_VERSION
    )


def check_replaceable(target: Path) -> None:
    """Raise ``FileExistsError`` unless the existing ``target`` is a run this package wrote.

    An empty folder may be replaced. Otherwise the folder must hold a ``manifest.json`` of this
    package's format and schema, and nothing else than the files a saved run holds; the error
    names the first unexpected file, so the user can move it away.
    """
    if target.is_symlink() or not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a run folder; refusing to replace it")
    if not any(target.iterdir()):
        return
    if not is_run_manifest(target):
        raise FileExistsError(
            f"{target} exists and is not a run folder (it has no linlens manifest.json); "
            "refusing to replace it: choose another path or remove it yourself"
        )
    extra = foreign_entry(target)
    if extra is not None:
        raise FileExistsError(
            f"{target} holds {extra.relative_to(target)}, which a saved run does not contain; "
            "refusing to overwrite (and delete) it: move that file away or choose another path"
        )


def leftovers(target: Path, kind: str) -> list[Path]:
    """Siblings ``.<name>.<kind>-<random>`` of ``target`` from interrupted saves, newest first."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.{kind}-[0-9a-f]{{12}}$")
    try:
        found = [p for p in target.parent.iterdir() if pattern.match(p.name)]
    except OSError:
        return []
    found = [p for p in found if p.is_dir() and not p.is_symlink()]
    return sorted(found, key=_mtime_ns, reverse=True)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # removed meanwhile by another process
        return 0


def recover(target: Path) -> None:
    """Finish or undo an interrupted overwrite of the run folder ``target``.

    * Nothing at ``target`` but an old run set aside: rename the newest one back.
    * A run at ``target`` and old runs set aside: the swap completed; delete them, but only
      when they hold nothing but the files of a run.
    """
    target = Path(target)
    old = leftovers(target, "old")
    if not old:
        return
    if not (target.exists() or target.is_symlink()):
        try:
            os.rename(old[0], target)
        except OSError:
            return  # another process restored it first
        old = old[1:]
    if not (target.is_dir() and is_run_manifest(target)):
        return
    for folder in old:
        discard(folder)


def discard_stale_tmp(target: Path, *, min_age_s: float = STALE_TMP_AGE_S) -> None:
    """Remove temporary siblings of ``target`` that an interrupted save left behind.

    Only folders untouched for ``min_age_s`` seconds (a save in progress in another process
    keeps adding files to its own) and holding nothing but the files of a run are removed.
    """
    now = time.time()
    for folder in leftovers(target, "tmp"):
        try:
            age = now - folder.stat().st_mtime
        except OSError:
            continue
        if age >= min_age_s:
            discard(folder)


def discard(folder: Path) -> None:
    """Delete a set-aside or temporary run folder, unless it holds a file a run does not."""
    try:
        foreign = foreign_entry(folder)
    except OSError:  # gone or unreadable: nothing we may delete
        return
    if foreign is None:
        shutil.rmtree(folder, ignore_errors=True)
