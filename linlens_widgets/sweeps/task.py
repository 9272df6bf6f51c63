"""The task a sweep runs for one grid point: build the model, train, analyse, save, summarise.

:func:`run_point` runs on a Dask worker. It saves the run with the run store's atomic
:meth:`~linlens_widgets.Run.save`, so a worker killed at any moment leaves either no run folder or
a complete one, and records the point's sweep parameters in the run's manifest
(``training.sweep``) so that a later sweep recognises the run as done. A point that fails for a
reason of its own (a diverging learning rate, a model that cannot be built) is returned as a
failure record instead of raising, so Dask does not retry it; storage errors (``OSError``) are
raised, so Dask retries the task. A task run again after its run was saved (its worker died
before the result reached the driver) finds the run and returns without training.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linlens_widgets.sweeps.grid import split_params

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.datasets import Dataset
    from linlens_widgets.runs.store import Run

__all__ = ["ANALYSES", "recorded_point", "run_point"]

_PHENOMENA = ("alignment", "effective_rank", "local_complexity", "weight_variation")

#: Analyses a sweep can compute per run (each is attached to the run and saved with it).
ANALYSES: tuple[str, ...] = ("embed", "class_similarity", "subclusters", *_PHENOMENA)

#: Where a run's manifest keeps the sweep parameters of its grid point.
CONFIG_KEY = "sweep"


def run_point(
    make_model: Callable[..., Any],
    data: Dataset,
    name: str,
    params: dict[str, Any],
    settings: dict[str, Any],
    folder: str,
) -> dict[str, Any]:
    """Train, analyse and save one grid point; return its entry for ``sweep.json``.

    Parameters
    ----------
    make_model : callable
        Called with the point's model parameters (see
        :func:`~linlens_widgets.sweeps.grid.split_params`).
    data : Dataset
        Training and test data.
    name : str
        The point's folder name.
    params : dict
        The point's grid parameters.
    settings : dict
        ``{"train_kwargs": {...}, "analyses": [...]}``: what every point of the sweep shares.
    folder : str
        Where the run is saved (``out/<name>``), on storage the driver can read.

    Returns
    -------
    dict
        ``name``, ``params``, ``status`` (``"ok"`` or ``"failed"``), ``error``, ``metrics``
        (final values) and ``seconds`` (time spent on the worker).
    """
    start = time.perf_counter()
    target = Path(folder)
    done = recorded_point(target)
    if matches(done, params, settings):  # a rerun of a task whose result was lost with its worker
        assert done is not None
        return _entry(name, params, "ok", None, done.get("metrics", {}), start)
    try:
        run = _train(make_model, data, params, settings)
        metrics = {**_final_metrics(run), **_analyse(run, settings["analyses"])}
        run.config[CONFIG_KEY] = {
            "name": name,
            "params": params,
            "settings": settings,
            "metrics": metrics,
        }
        _save(run, target, params, settings)
    except OSError as err:
        if not isinstance(err, FileExistsError):
            raise  # storage trouble: let Dask retry the task
        return _entry(name, params, "failed", f"{type(err).__name__}: {err}", {}, start)
    except Exception as err:
        return _entry(name, params, "failed", f"{type(err).__name__}: {err}", {}, start)
    return _entry(name, params, "ok", None, metrics, start)


def recorded_point(folder: Path) -> dict[str, Any] | None:
    """Return the sweep entry stored in the manifest of the run at ``folder``, or None.

    Only the manifest (JSON) is read; a folder without one (never a complete run, since saves
    are atomic) or without sweep parameters gives None.
    """
    from linlens_widgets.runs.store import RunFormatError, read_manifest

    try:
        manifest = read_manifest(folder)
    except (OSError, RunFormatError):
        return None
    training = manifest.get("training") if isinstance(manifest, dict) else None
    entry = training.get(CONFIG_KEY) if isinstance(training, dict) else None
    return entry if isinstance(entry, dict) else None


def matches(entry: dict[str, Any] | None, params: dict[str, Any], settings: dict[str, Any]) -> bool:
    """Whether a recorded sweep entry is the run of ``params`` under ``settings``."""
    return (
        entry is not None
        and _canonical(entry.get("params")) == _canonical(params)
        and _canonical(entry.get("settings")) == _canonical(settings)
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _train(
    make_model: Callable[..., Any], data: Dataset, params: dict[str, Any], settings: dict[str, Any]
) -> Run:
    from linlens_widgets.runs.train import train

    model_params, train_params = split_params(params, make_model)
    model = make_model(**model_params)
    kwargs = {**settings["train_kwargs"], **train_params}
    return train(model, data, progress=False, **kwargs)


def _final_metrics(run: Run) -> dict[str, float | None]:
    last = run.checkpoints[-1].metrics
    values = {k: _finite(v) for k, v in last.items()}
    if any(values[k] is None for k in ("train_loss", "test_loss") if k in values):
        raise ValueError(f"training diverged: final metrics {last}")
    return values


def _analyse(run: Run, analyses: Sequence[str]) -> dict[str, float | None]:
    """Compute the requested analyses (attached to the run) and return their final values."""
    summary: dict[str, float | None] = {}
    if "embed" in analyses:
        from linlens_widgets.analysis.embed import embed

        embed(run, progress=False)
    lens = [name for name in ("class_similarity", "subclusters") if name in analyses]
    if lens:
        from linlens_widgets.analysis.over_run import dynamics_table

        names = {"class_similarity": "similarity", "subclusters": "subclusters"}
        table = dynamics_table(run, lens=[names[n] for n in lens], progress=False)  # type: ignore[misc]
        if "class_similarity" in lens:
            summary.update({c: _finite(table[c][-1]) for c in ("intra", "inter")})
        if "subclusters" in lens:
            summary.update(_subcluster_counts(table))
    phenomena = [name for name in _PHENOMENA if name in analyses]
    if phenomena:
        from linlens_widgets.analysis.phenomena import phenomena_over_run

        values = phenomena_over_run(run, phenomena, progress=False)
        summary.update({name: _finite(values[name][-1]) for name in phenomena})
    return summary


def _subcluster_counts(table: dict[str, Any]) -> dict[str, float | None]:
    """Count the sub-clusters found after training: ``subclusters``, ``subclusters_mean`` a class.

    Read from the tracked groups' ``groups_<k>`` columns (a class kept whole counts one group).
    """
    groups = [float(values[-1]) for name, values in table.items() if name.startswith("groups_")]
    return {
        "subclusters": float(sum(groups)) if groups else None,
        "subclusters_mean": sum(groups) / len(groups) if groups else None,
    }


def _save(run: Run, target: Path, params: dict[str, Any], settings: dict[str, Any]) -> None:
    """Save atomically; a complete run of the same point already there counts as saved."""
    try:
        run.save(target)
    except FileExistsError:
        if not matches(recorded_point(target), params, settings):
            raise


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _entry(
    name: str,
    params: dict[str, Any],
    status: str,
    error: str | None,
    metrics: dict[str, float | None],
    start: float,
) -> dict[str, Any]:
    return {
        "name": name,
        "params": params,
        "status": status,
        "error": error,
        "metrics": metrics,
        "seconds": round(time.perf_counter() - start, 3),
    }
