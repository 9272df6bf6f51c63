"""The analysis store: computed analysis (trajectories, metrics) kept with a run.

Computing a t-SNE trajectory or metrics over every checkpoint takes seconds to minutes, so the
results are stored with the run and reused while their parameters match. Each entry is named
(``"trajectory"``, ``"phenomena"``, ``"plots.similarity"`` …) and holds numeric arrays plus JSON
metadata (typically the parameters that produced it, which callers compare before reuse).

Where it lives:

- in memory, with the run object (``run.analysis_entries``), for the run's lifetime;
- on disk, in the run folder's ``analysis/<name>.safetensors`` (format:
  :mod:`linlens_widgets.runs.analysis_files`), written at once when the run has a folder, and
  written by :meth:`Run.save` with the rest of the run otherwise.

Storing never fails because of the disk: a run without a folder, or whose folder is read-only,
keeps the entry in memory and writes nothing. One rule decides what is writable for every store
write (:func:`folder_is_writable`): permission bits as well as ``os.access``, since the superuser's
``os.access`` says yes to everything.

Every entry is checked before reuse. :meth:`AnalysisStore.put` records, in the entry's metadata,
a digest of its arrays and one of the run it was computed from (every checkpoint's weights and
the probe samples); :meth:`AnalysisStore.get` returns an entry only when both still match, so an
entry edited on disk with its metadata kept, or copied from another run, counts as absent and is
recomputed by its caller. Entries from before these digests count as absent too.

>>> store = AnalysisStore(run)                                   # doctest: +SKIP
>>> store.put("note", {"x": np.arange(3.0)}, {"about": "demo"})  # doctest: +SKIP
>>> store.get("note")[1]                                         # doctest: +SKIP
{'about': 'demo'}
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import stat
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from linlens_widgets.runs.analysis_files import (
    ANALYSIS_DIR,
    AnalysisEntry,
    check_entry,
    write_entry,
)

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["CHECK_KEY", "AnalysisStore", "folder_is_writable"]

CHECK_KEY = "_linlens_check"
"""Metadata key of an entry's digests (its arrays, and the run it belongs to)."""


def folder_is_writable(path: Path) -> bool:
    """Whether files may be written into ``path`` (and its ``analysis`` subfolder, if present).

    Permission bits are checked as well as ``os.access``: as the superuser ``os.access`` says yes
    to everything, but a folder whose owner made it read-only should stay untouched. An
    ``analysis`` that is a link or not a folder is not writable either.
    """
    analysis = path / ANALYSIS_DIR
    if analysis.is_symlink() or (analysis.exists() and not analysis.is_dir()):
        return False
    for folder in (path, analysis):
        if not folder.exists():
            continue
        mode = folder.stat().st_mode
        if not os.access(folder, os.W_OK) or not mode & (
            stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        ):
            return False
    return True


class AnalysisStore:
    """Read and write named analysis entries of one run.

    Parameters
    ----------
    run : Run
        The run the entries belong to; they are kept in ``run.analysis_entries`` and, when the
        run has a writable folder, in ``<run.path>/analysis/``.
    """

    def __init__(self, run: Run) -> None:
        self.run = run

    @property
    def names(self) -> list[str]:
        """Names of the stored entries, sorted."""
        return sorted(self.run.analysis_entries)

    def __contains__(self, name: object) -> bool:
        return name in self.run.analysis_entries

    def get(self, name: str) -> AnalysisEntry | None:
        """Return ``(arrays, meta)`` of entry ``name`` (copies), or ``None``.

        ``None`` also when the entry does not match its digests (edited, copied from another
        run, or stored before digests existed): the caller then recomputes it.
        """
        item = self.run.analysis_entries.get(name)
        if item is None:
            return None
        arrays, meta = item
        if meta.get(CHECK_KEY) != _digests(self.run, arrays):
            return None
        clean = {k: v for k, v in meta.items() if k != CHECK_KEY}
        return {k: v.copy() for k, v in arrays.items()}, copy.deepcopy(clean)

    def put(self, name: str, arrays: dict[str, Any], meta: dict[str, Any]) -> bool:
        """Store an entry (replacing one of the same name) and write it to the run folder.

        Parameters
        ----------
        name : str
            Letters, digits, ``_``, ``-``, ``.`` (at most 64, not starting with a dot).
        arrays : dict of str to array-like
            Numeric arrays (no object dtype).
        meta : dict
            JSON-serialisable metadata (the key ``"_linlens_check"`` is the store's own).

        Returns
        -------
        bool
            Whether the entry was written to disk: ``False`` when the run has no folder or the
            folder is not writable (:func:`folder_is_writable`; the entry is still kept in
            memory and written by :meth:`Run.save`).

        Raises
        ------
        ValueError
            For a bad name, a non-numeric array or metadata that is not JSON.
        """
        clean, clean_meta = check_entry(name, arrays, meta)
        clean_meta[CHECK_KEY] = _digests(self.run, clean)
        entry = (clean, clean_meta)
        self.run.analysis_entries[name] = entry
        return self._write(name, entry)

    def _write(self, name: str, entry: AnalysisEntry) -> bool:
        """Write ``entry`` atomically into the run folder; ``False`` where that is not possible."""
        path: Path | None = self.run.path
        if path is None or not path.is_dir() or not folder_is_writable(path):
            return False  # never through a link planted in the run folder, nor into read-only
        folder = path / ANALYSIS_DIR
        tmp = folder / f".{name}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir(exist_ok=True)
            write_entry(tmp, *entry)
            os.replace(tmp, folder / f"{name}.safetensors")
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return False
        return True


def _digests(run: Any, arrays: dict[str, np.ndarray]) -> dict[str, str | None]:
    """Digests of an entry's arrays and of the run's weights and probe (see the module doc)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return {"arrays": h.hexdigest()[:32], "run": _run_digest(run)}


_RUN_DIGESTS: weakref.WeakKeyDictionary[Any, tuple[int, str | None]] = weakref.WeakKeyDictionary()


def _run_digest(run: Any) -> str | None:
    """Digest of every checkpoint's weights and the probe samples (cached per run object)."""
    n = len(getattr(run, "checkpoints", ()))
    try:
        cached = _RUN_DIGESTS.get(run)
    except TypeError:  # not weak-referenceable: compute each time
        cached = None
    if cached is not None and cached[0] == n:
        return cached[1]
    digest = _compute_run_digest(run, n)
    with contextlib.suppress(TypeError):
        _RUN_DIGESTS[run] = (n, digest)
    return digest


def _compute_run_digest(run: Any, n: int) -> str | None:
    state_at = getattr(run, "state_dict_at", None)
    if state_at is None:  # a stand-in without weights: its entries are checked by content only
        return None
    h = hashlib.sha256()
    for i in range(n):
        for key, tensor in sorted(state_at(i).items()):
            _update(h, f"{i}|{key}", tensor)
    _update(h, "probe_inputs", run.probe_inputs)
    _update(h, "probe_labels", run.probe_labels)
    return h.hexdigest()[:32]


def _update(h: Any, what: str, tensor: Any) -> None:
    """Feed a tensor's name, dtype, shape and bytes (any dtype, bfloat16 included) to ``h``."""
    t = torch.as_tensor(tensor).detach().cpu().contiguous()
    h.update(f"{what}|{t.dtype}|{tuple(t.shape)}|".encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
