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
keeps the entry in memory and writes nothing.

>>> store = AnalysisStore(run)                                   # doctest: +SKIP
>>> store.put("note", {"x": np.arange(3.0)}, {"about": "demo"})  # doctest: +SKIP
>>> store.get("note")[1]                                         # doctest: +SKIP
{'about': 'demo'}
"""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linlens_widgets.runs.analysis_files import (
    ANALYSIS_DIR,
    AnalysisEntry,
    check_entry,
    write_entry,
)

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["AnalysisStore"]


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
        """Return ``(arrays, meta)`` of entry ``name`` (copies), or ``None`` if absent."""
        item = self.run.analysis_entries.get(name)
        if item is None:
            return None
        arrays, meta = item
        return {k: v.copy() for k, v in arrays.items()}, copy.deepcopy(meta)

    def put(self, name: str, arrays: dict[str, Any], meta: dict[str, Any]) -> bool:
        """Store an entry (replacing one of the same name) and write it to the run folder.

        Parameters
        ----------
        name : str
            Letters, digits, ``_``, ``-``, ``.`` (at most 64, not starting with a dot).
        arrays : dict of str to array-like
            Numeric arrays (no object dtype).
        meta : dict
            JSON-serialisable metadata.

        Returns
        -------
        bool
            Whether the entry was written to disk: ``False`` when the run has no folder or the
            folder is read-only (the entry is still kept in memory and written by
            :meth:`Run.save`).

        Raises
        ------
        ValueError
            For a bad name, a non-numeric array or metadata that is not JSON.
        """
        entry = check_entry(name, arrays, meta)
        self.run.analysis_entries[name] = entry
        return self._write(name, entry)

    def _write(self, name: str, entry: AnalysisEntry) -> bool:
        """Write ``entry`` atomically into the run folder; ``False`` where that is not possible."""
        path: Path | None = self.run.path
        if path is None or not path.is_dir():
            return False
        folder = path / ANALYSIS_DIR
        if folder.is_symlink() or not os.access(folder if folder.is_dir() else path, os.W_OK):
            return False  # never write through a link planted in the run folder
        tmp = folder / f".{name}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir(exist_ok=True)
            write_entry(tmp, *entry)
            os.replace(tmp, folder / f"{name}.safetensors")
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        return True
