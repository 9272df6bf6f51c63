"""The record of a sweep: ``out/sweep.json`` and :class:`Sweep`, its table and its runs.

``sweep.json`` lists every grid point with its parameters, status (``"ok"`` or ``"failed"``), its
error message when it failed, and its final metrics; it is rewritten atomically after every point
that finishes, so it is complete up to the last finished point even if the driver is stopped.
Each completed point's run lives in ``out/<point name>/`` (see :meth:`linlens_widgets.Run.save`),
with the point's sweep parameters in its manifest (``training.sweep``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["RECORD_FILE", "Sweep", "SweepPoint"]

RECORD_FILE = "sweep.json"
FORMAT = "linlens-sweep"
VERSION = 1


@dataclass(frozen=True)
class SweepPoint:
    """One grid point of a sweep and how it ended.

    Attributes
    ----------
    name : str
        Folder name of its run inside the sweep's folder.
    params : dict
        Its grid parameters.
    status : {"ok", "failed"}
    error : str or None
        Why it failed (exception type and message).
    metrics : dict[str, float]
        Final values: the last checkpoint's metrics and one number per analysis.
    label : str
        Short label: the parameters that vary across the sweep, e.g. ``"init_scale=0.001"``.
    """

    name: str
    params: dict[str, Any]
    status: str
    error: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    label: str = ""


class Sweep:
    """A sweep's folder: the table of its grid points and their runs (loaded when first used).

    Returned by :func:`linlens_widgets.sweep`, or opened with :meth:`Sweep.load`.

    Attributes
    ----------
    out : Path
        The sweep's folder.
    points : list[SweepPoint]
        Every recorded grid point, completed or failed.

    >>> sw = Sweep.load("sweeps/init")  # doctest: +SKIP
    >>> sw.table[0]                      # doctest: +SKIP
    {'name': 'init_scale=0.001', 'status': 'ok', 'init_scale': 0.001, 'test_acc': 0.98, ...}
    >>> sw.runs[0], sw.labels[0]         # doctest: +SKIP
    (Run('digits', ...), 'init_scale=0.001')
    """

    def __init__(
        self,
        out: Path,
        points: Sequence[SweepPoint],
        make_model: Callable[..., Any] | None = None,
    ) -> None:
        self.out = Path(out)
        self.points = list(points)
        self._make_model = make_model
        self._runs: dict[str, Run] = {}

    @classmethod
    def load(
        cls, out: str | os.PathLike[str], make_model: Callable[..., Any] | None = None
    ) -> Sweep:
        """Open the sweep written to folder ``out``.

        Parameters
        ----------
        out : str or PathLike
            The folder given to :func:`linlens_widgets.sweep` as ``out``.
        make_model : callable, optional
            The sweep's ``make_model``; needed only to load runs of models that are not presets
            of :mod:`linlens_widgets.models` (then called with each point's model parameters to
            rebuild the architecture; preset runs are rebuilt from their manifest).

        Raises
        ------
        FileNotFoundError
            If ``out`` holds no ``sweep.json``.
        ValueError
            If ``sweep.json`` is not a sweep record, or an entry is damaged or names a folder
            outside ``out`` (the message names the entry).
        """
        folder = Path(out).expanduser().absolute()
        path = folder / RECORD_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no sweep at {folder}: {RECORD_FILE} is missing")
        return cls(folder, points_from_record(read_record(path), path), make_model)

    # ------------------------------------------------------------------ the table

    @property
    def table(self) -> list[dict[str, Any]]:
        """Rows of the grid points: ``name``, ``status``, parameters, final metrics, ``error``."""
        rows = []
        for point in self.points:
            row: dict[str, Any] = {"name": point.name, "status": point.status, **point.params}
            for key, value in point.metrics.items():
                row[key if key not in row else f"final_{key}"] = value
            row["error"] = point.error
            rows.append(row)
        return rows

    def to_pandas(self) -> Any:
        """Return :attr:`table` as a pandas ``DataFrame`` (pandas is not a dependency).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Sweep.to_pandas needs pandas, which is not installed; use sweep.table (a list "
                "of dicts) or pip install pandas"
            ) from None
        return pd.DataFrame(self.table)

    # ------------------------------------------------------------------ completed runs

    @property
    def completed(self) -> list[SweepPoint]:
        """The points whose run completed, in grid order (aligned with :attr:`runs`)."""
        return [p for p in self.points if p.status == "ok"]

    @property
    def failed(self) -> list[SweepPoint]:
        """The points that failed, with their ``error``."""
        return [p for p in self.points if p.status != "ok"]

    @property
    def params(self) -> list[dict[str, Any]]:
        """The grid parameters of every completed run, aligned with :attr:`runs`."""
        return [dict(p.params) for p in self.completed]

    @property
    def labels(self) -> list[str]:
        """A short label per completed run (the varying parameters), aligned with :attr:`runs`."""
        return [p.label for p in self.completed]

    @property
    def runs(self) -> _LazyRuns:
        """The completed runs, in grid order; each is loaded from disk when first accessed."""
        return _LazyRuns(self)

    def run(self, name: str) -> Run:
        """Return the run of the completed point called ``name`` (loaded once, then kept)."""
        point = next((p for p in self.completed if p.name == name), None)
        if point is None:
            known = ", ".join(p.name for p in self.completed) or "none"
            raise KeyError(f"no completed run {name!r} in {self.out}; completed: {known}")
        if name not in self._runs:
            self._runs[name] = self._load_run(point)
        return self._runs[name]

    def _load_run(self, point: SweepPoint) -> Run:
        from linlens_widgets.runs.store import Run
        from linlens_widgets.sweeps.grid import split_params

        folder = inside(self.out, point.name, f"{self.out / RECORD_FILE}")
        model = None
        if self._make_model is not None and not _is_preset(folder):
            model_params, _ = split_params(point.params, self._make_model)
            model = functools.partial(self._make_model, **model_params)
        return Run.load(folder, model=model)

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        return f"Sweep({str(self.out)!r}, ok={len(self.completed)}, failed={len(self.failed)})"


class _LazyRuns(Sequence["Run"]):
    """The completed runs of a sweep as a sequence that loads each run on first access."""

    def __init__(self, sweep: Sweep) -> None:
        self._sweep = sweep
        self._names = [p.name for p in sweep.completed]

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._sweep.run(name) for name in self._names[index]]
        return self._sweep.run(self._names[index])

    def __iter__(self) -> Iterator[Run]:
        return (self._sweep.run(name) for name in self._names)

    def __repr__(self) -> str:
        return f"<{len(self)} runs of {self._sweep!r}, loaded on access>"


def _is_preset(folder: Path) -> bool:
    """Whether the run at ``folder`` rebuilds its model from its manifest (a preset model)."""
    from linlens_widgets.runs.store import RunFormatError, read_manifest

    try:
        manifest = read_manifest(folder)
        return isinstance(manifest["model"]["spec"], dict)
    except (OSError, RunFormatError, KeyError, TypeError):
        return False


# ---------------------------------------------------------------------- sweep.json


def read_record(path: Path) -> dict[str, Any]:
    """Read and check ``sweep.json``; raise ``ValueError`` naming the file if it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable sweep record: {err}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path} is not a sweep record (format is not {FORMAT!r})")
    if record.get("version") != VERSION or not isinstance(record.get("points"), list):
        raise ValueError(f"{path}: unsupported sweep record version {record.get('version')!r}")
    return record


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the sweep folder's record lock (``out/.sweep.lock``, ``flock``) for the duration.

    Sweeps writing ``sweep.json`` into one folder at once take turns; where ``fcntl`` does not
    exist (Windows) the record is written without a lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with _THREAD_LOCK, open(out / LOCK_FILE, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


LOCK_FILE = ".sweep.lock"
_THREAD_LOCK = threading.Lock()


def write_record(out: Path, settings: dict[str, Any], points: Sequence[dict[str, Any]]) -> None:
    """Write ``out/sweep.json`` atomically (a temporary file renamed into place)."""
    from linlens_widgets.runs.atomic_write import write_file_atomically

    record = {"format": FORMAT, "version": VERSION, **settings, "points": list(points)}
    text = json.dumps(record, indent=1, allow_nan=False)
    write_file_atomically(out / RECORD_FILE, text.encode("utf-8"))


def check_name(name: Any, where: str) -> str:
    """Return a point's folder name after checking it is one plain name inside the sweep folder.

    A name read from ``sweep.json`` is data: ``"../victim"``, an absolute path, a separator, a
    dot-name (the store's temporary folders) or an empty name would make the sweep load, show
    and write into a folder that is not its own.

    Raises
    ------
    ValueError
        Naming ``where`` and the name.
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or name.startswith("."):
        raise ValueError(
            f"{where}: point name {name!r} is not a folder name inside the sweep (one name of "
            "letters, digits and . _ + - = , %, no separators, not starting with a dot)"
        )
    return name


def inside(out: Path, name: str, where: str) -> Path:
    """Return ``out / name`` after checking the name, and that it is no link out of ``out``."""
    folder = out / check_name(name, where)
    if folder.is_symlink() or folder.resolve().parent != out.resolve():
        raise ValueError(
            f"{where}: point {name!r} is a link out of the sweep folder {out}; a sweep loads "
            "only its own folders"
        )
    return folder


def points_from_record(record: dict[str, Any], where: str | Path = RECORD_FILE) -> list[SweepPoint]:
    """Build the :class:`SweepPoint` list of a record, with labels from the varying parameters.

    Raises
    ------
    ValueError
        For an entry that is not an object, lacks or has a bad ``name`` (see :func:`check_name`),
        or holds ``params``, ``status``, ``error`` or ``metrics`` of the wrong type; the message
        names the entry.
    """
    entries = checked_entries(record, where)
    varying = _varying([e["params"] for e in entries])
    return [
        SweepPoint(
            name=e["name"],
            params=e["params"],
            status=e["status"],
            error=e["error"],
            metrics=e["metrics"],
            label=_label(e["params"], varying) or e["name"],
        )
        for e in entries
    ]


def checked_entries(record: dict[str, Any], where: str | Path) -> list[dict[str, Any]]:
    """Return the record's point entries, each checked (see :func:`points_from_record`)."""
    entries = []
    for i, e in enumerate(record["points"]):
        checked = _checked_entry(i, e, str(where))
        entries.append({**e, **checked})
    counts = collections.Counter(e["name"] for e in entries)
    twice = sorted(name for name, n in counts.items() if n > 1)
    if twice:
        raise ValueError(f"{where}: point names {twice} appear more than once")
    return entries


_SAFE_NAME = re.compile(r"[A-Za-z0-9_.+=,%-]{1,255}")
_STATUSES = ("ok", "failed")


def _checked_entry(i: int, entry: Any, where: str) -> dict[str, Any]:
    """Return entry ``i`` of ``sweep.json`` with every field of the right type, or raise."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: point {i} is not an object ({type(entry).__name__})")
    if "name" not in entry:
        raise ValueError(f"{where}: point {i} has no name")
    name = check_name(entry["name"], f"{where}: point {i}")
    what = f"{where}: point {i} ({name!r})"
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"{what}: params must be an object, got {type(params).__name__}")
    status = entry.get("status", "failed")
    if status not in _STATUSES:
        raise ValueError(f"{what}: status must be one of {list(_STATUSES)}, got {status!r}")
    error = entry.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError(f"{what}: error must be text or null, got {type(error).__name__}")
    metrics = entry.get("metrics") or {}
    if not isinstance(metrics, dict) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool))
        for v in metrics.values()
    ):
        raise ValueError(f"{what}: metrics must map names to numbers or null")
    return {"name": name, "params": params, "status": status, "error": error, "metrics": metrics}


def _varying(all_params: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for params in all_params:
        names.update(dict.fromkeys(params))
    return [n for n in names if len({json.dumps(p.get(n), sort_keys=True) for p in all_params}) > 1]


def _label(params: dict[str, Any], varying: list[str]) -> str:
    return ", ".join(f"{n}={params.get(n)}" for n in varying)
