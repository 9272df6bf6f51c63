"""``sweep()``: run every point of a grid as a task on Dask's distributed scheduler.

With ``client=None`` a :class:`distributed.LocalCluster` sized to the machine is started (one
process per core, one thread each: small torch models train fastest single-threaded, and
processes keep them from contending for the interpreter) and closed afterwards. Any
``distributed.Client`` runs the same code unchanged (a ``dask-jobqueue`` SLURM/PBS cluster,
Kubernetes, a remote scheduler), as long as ``out`` lies on storage the workers and this process
share and the workers have ``linlens_widgets`` installed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linlens_widgets.progress import tqdm
from linlens_widgets.sweeps import grid as grid_
from linlens_widgets.sweeps import record, task

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from linlens_widgets.runs.datasets import Dataset

__all__ = ["DEFAULT_ANALYSES", "local_workers", "sweep"]

#: Analyses computed per run unless told otherwise.
DEFAULT_ANALYSES: tuple[str, ...] = ("embed", "class_similarity")

#: Dashboard links already printed in this process (each is printed once).
_SHOWN_DASHBOARDS: set[str] = set()


def sweep(
    make_model: Callable[..., Any],
    data: Dataset,
    grid: Mapping[str, Sequence[Any]],
    *,
    out: str | os.PathLike[str],
    train_kwargs: Mapping[str, Any] | None = None,
    analyses: Sequence[str] = DEFAULT_ANALYSES,
    client: Client | None = None,
    retries: int = 2,
    progress: bool = True,
) -> record.Sweep:
    """Train one run per grid point on a Dask cluster, analyse and save each; return the sweep.

    Every point becomes one task: build the model with ``make_model``, train it with
    :func:`linlens_widgets.train`, compute ``analyses`` (attached to the run), and save it
    atomically to ``out/<point name>/``. Re-running skips points whose run is already there with
    the same parameters (recorded in the run's manifest, ``training.sweep``). A point that fails
    (e.g. a learning rate that diverges) is recorded as failed with its error in
    ``out/sweep.json`` and does not stop the others; a worker that dies mid-run leaves no partial
    run and its task is run again elsewhere.

    Parameters
    ----------
    make_model : callable
        Returns a fresh ``nn.Module``; called on a worker with the point's model parameters
        (every grid name :func:`~linlens_widgets.train` does not take, plus ``seed`` if it accepts
        one). Must be picklable: a module-level function, a ``functools.partial`` of one, or a
        function defined in the notebook.
    data : Dataset
        Training and test data, sent to the workers once.
    grid : dict of str to list
        Values to try per name; the sweep runs their Cartesian product. Names that ``train``
        accepts (``lr``, ``epochs``, ``batch_size``, ``seed``, ...) go to training, the others to
        ``make_model``; ``seed`` goes to both.
    out : str or PathLike
        The sweep's folder (created), on storage the workers share.
    train_kwargs : dict, optional
        Arguments of ``train`` every point shares (JSON values), e.g. ``{"epochs": 20}``.
    analyses : sequence of str, default ("embed", "class_similarity")
        Any of ``"embed"``, ``"class_similarity"``, ``"subclusters"``, ``"alignment"``,
        ``"effective_rank"``, ``"local_complexity"``, ``"weight_variation"``.
    client : distributed.Client, optional
        The cluster to run on; default: a ``LocalCluster`` with one single-threaded worker
        process per core (at most one per point to run), closed when the sweep ends.
    retries : int, default 2
        How often Dask retries a task that raised a storage error (``OSError``). A task whose
        worker died is run again by the scheduler on its own (up to Dask's
        ``distributed.scheduler.allowed-failures`` times, 3 by default).
    progress : bool, default True
        Show a progress bar over the points (it disappears when done) and print the Dask
        dashboard's address once.

    Returns
    -------
    Sweep
        The table of points and their runs (as :meth:`Sweep.load` of ``out`` would).

    Raises
    ------
    TypeError
        ``data`` is not a Dataset, ``make_model`` is not callable or not picklable, or it does not
        take the grid's model parameters.
    ValueError
        A malformed grid, unknown ``train_kwargs`` or analyses, or a folder in ``out`` that
        holds a run of other settings.

    Examples
    --------
    >>> import functools
    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> make = functools.partial(ll.models.mlp, 64, [100], 10)      # init_scale, seed from the grid
    >>> sw = ll.sweep(make, data, {"init_scale": [1e-3, 1.0], "seed": [0, 1]},
    ...               out="sweeps/init", train_kwargs={"epochs": 20})  # doctest: +SKIP
    >>> sw.table                                                     # doctest: +SKIP
    """
    _check_inputs(make_model, data, retries)
    _check_client(client)
    points = grid_.expand_grid(grid)
    grid_.check_values(grid, make_model)  # on the driver, before any cluster starts
    settings = _settings(train_kwargs, analyses, grid)
    for point in points:
        model_params, _ = grid_.split_params(point.params, make_model)
        grid_.check_model_params(make_model, model_params)
    folder = Path(out).expanduser().absolute()
    folder.mkdir(parents=True, exist_ok=True)
    entries = _previous_entries(folder)
    todo = _pending(points, folder, settings, entries)
    _write(folder, settings, entries, points)
    if todo:
        with _cluster(client, len(todo)) as active:
            finished = _run(active, make_model, data, todo, settings, folder, retries, progress)
            for entry in finished:
                entries[entry["name"]] = entry
                _write(folder, settings, entries, points)
    return record.Sweep.load(folder, make_model=make_model)


def local_workers() -> int:
    """Worker processes a default ``LocalCluster`` starts: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------- checks


def _check_inputs(make_model: Callable[..., Any], data: Any, retries: int) -> None:
    from linlens_widgets.runs.datasets import Dataset

    if not isinstance(data, Dataset):
        raise TypeError(
            f"data must be a linlens Dataset, got {type(data).__name__}; wrap your arrays with "
            "ll.Dataset.from_tensors(x, y)"
        )
    if not callable(make_model):
        raise TypeError(f"make_model must be callable, got {type(make_model).__name__}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    _check_picklable(make_model)


def _check_client(client: Client | None) -> None:
    """Refuse a client that was closed (it would fail later with "IOLoop is closed")."""
    if client is not None and str(getattr(client, "status", "")) in CLOSED_STATES:
        raise ValueError(
            f"client= is closed (status {client.status!r}); pass an open distributed.Client"
        )


#: ``Client.status`` values of a client that can no longer run anything.
CLOSED_STATES = frozenset({"closed", "closing", "failed"})


def connect(address: str, *, timeout: float) -> Client:
    """Return a ``distributed.Client`` of the scheduler at ``address``, within ``timeout`` seconds.

    The connection *and* the handshake share one deadline: a port where something else listens
    (a dashboard, a web server, a silent socket) fails within ``timeout`` instead of hanging.

    Raises
    ------
    ValueError
        For an address that is not ``tcp://HOST:PORT`` (or ``tls://``, or ``HOST:PORT``).
    OSError
        ``TimeoutError`` or ``ConnectionError`` when no Dask scheduler answers in time.
    """
    import asyncio

    from distributed import Client

    check_address(address)
    outcome: list[BaseException | None] = []

    def probe() -> None:
        try:
            asyncio.run(asyncio.wait_for(_identity(address, timeout), timeout))
            outcome.append(None)
        except BaseException as err:  # handed to the caller's thread
            outcome.append(err)

    # in a thread of its own, so that nothing in the connection outlives the deadline
    thread = threading.Thread(target=probe, name="linlens-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    error = outcome[0] if outcome else TimeoutError()
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        raise TimeoutError(f"no Dask scheduler answered at {address} within {timeout:g} s")
    if isinstance(error, OSError):
        raise ConnectionError(f"no Dask scheduler at {address}: {error}")
    if error is not None:
        raise error
    return Client(address, timeout=timeout)


async def _identity(address: str, timeout: float) -> None:
    """Ask the server at ``address`` who it is; raise ``ConnectionError`` unless a scheduler."""
    from distributed.comm import connect as comm_connect

    try:
        comm = await comm_connect(address, timeout=timeout)
    except OSError as err:
        raise ConnectionError(str(err) or type(err).__name__) from None
    except Exception as err:  # e.g. an HTTP reply read as a frame length: a huge allocation
        raise ConnectionError(f"it does not speak Dask's protocol ({type(err).__name__})") from None
    try:
        await comm.write({"op": "identity"})
        reply = await comm.read()
    except Exception as err:  # a server that speaks another protocol
        raise ConnectionError(f"it does not speak Dask's protocol ({type(err).__name__})") from None
    finally:
        comm.abort()
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise ConnectionError("the server there is not a Dask scheduler")


_SCHEMES = ("tcp", "tls")


def check_address(address: str) -> str:
    """Return ``address`` if it is ``tcp://HOST:PORT`` (``tls://``, or ``HOST:PORT``), else raise.

    Raises
    ------
    ValueError
        Saying what the address lacks.
    """
    scheme, sep, rest = address.rpartition("://")
    if sep and scheme not in _SCHEMES:
        raise ValueError(f"expected tcp://HOST:PORT, got {address!r} (unknown scheme {scheme!r})")
    host, colon, port = rest.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected tcp://HOST:PORT with a port from 1 to 65535, got {address!r}")
    return address


def _check_picklable(make_model: Callable[..., Any]) -> None:
    """Raise a clear TypeError if ``make_model`` cannot be sent to the workers."""
    from distributed.protocol import pickle

    try:
        pickle.dumps(make_model)
    except Exception as err:
        raise TypeError(
            f"make_model ({make_model!r}) cannot be pickled, so it cannot be sent to the Dask "
            "workers; use a module-level function or a functools.partial of one, whose "
            f"arguments and globals are picklable ({type(err).__name__}: {err})"
        ) from None


def _settings(
    train_kwargs: Mapping[str, Any] | None, analyses: Sequence[str], grid: Mapping[str, Any]
) -> dict[str, Any]:
    """Return what every point shares, as JSON (recorded with each run and in ``sweep.json``)."""
    from linlens_widgets.runs.store import jsonable

    kwargs = dict(train_kwargs or {})
    allowed = grid_.train_parameters()
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(
            f"train_kwargs {unknown} are not arguments of train(); use {sorted(allowed)}"
        )
    both = sorted(set(kwargs) & set(grid))
    if both:
        raise ValueError(
            f"{both} are set by both the grid and train_kwargs; give them in one place"
        )
    if isinstance(analyses, str):
        analyses = [analyses]
    bad = [a for a in analyses if a not in task.ANALYSES]
    if bad:
        raise ValueError(f"unknown analyses {bad}; choose from {list(task.ANALYSES)}")
    return {
        "train_kwargs": jsonable(kwargs, "train_kwargs"),
        "analyses": list(dict.fromkeys(analyses)),
    }


# ---------------------------------------------------------------------- resuming


def _previous_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """Entries of an earlier ``sweep.json`` in ``folder`` (kept for points outside this grid)."""
    path = folder / record.RECORD_FILE
    if not path.exists():
        return {}
    return {e["name"]: e for e in record.checked_entries(record.read_record(path), path)}


def _pending(
    points: Sequence[grid_.Point],
    folder: Path,
    settings: dict[str, Any],
    entries: dict[str, dict[str, Any]],
) -> list[grid_.Point]:
    """Return the points still to run; record the ones whose run is already saved as done."""
    todo = []
    for point in points:
        path = folder / point.name
        stored = task.recorded_point(path)
        if task.matches(stored, point.params, settings):
            assert stored is not None
            entries[point.name] = {
                "name": point.name,
                "params": point.params,
                "status": "ok",
                "error": None,
                "metrics": stored.get("metrics", {}),
                "seconds": entries.get(point.name, {}).get("seconds"),
            }
        elif path.exists():
            raise ValueError(
                f"{path} holds {'a run of other sweep settings' if stored else 'something else'}"
                f" than this grid point ({point.params}, {settings}); use another out folder or "
                "remove it"
            )
        else:
            entries.pop(point.name, None)
            todo.append(point)
    return todo


def _write(
    folder: Path,
    settings: dict[str, Any],
    entries: dict[str, dict[str, Any]],
    points: Sequence[grid_.Point],
) -> None:
    """Write ``sweep.json``: this grid's points in grid order, then those of earlier grids.

    Under the record's lock, the entries on disk are read again and this sweep's are merged over
    them, so two sweeps into one folder at once lose none of each other's points.
    """
    order = {p.name: i for i, p in enumerate(points)}
    with record.locked(folder):
        merged = {**_previous_entries(folder), **entries}
        ranked = sorted(merged.values(), key=lambda e: order.get(e["name"], len(order)))
        record.write_record(folder, settings, ranked)


# ---------------------------------------------------------------------- execution


@contextlib.contextmanager
def _cluster(client: Client | None, n_points: int) -> Iterator[Client]:
    """Yield ``client``, or a LocalCluster's client that is closed on exit."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    workers = min(local_workers(), n_points)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,  # no shutdown chatter in the notebook
        ) as cluster,
        Client(cluster) as local,
    ):
        yield local


def _run(
    client: Client,
    make_model: Callable[..., Any],
    data: Dataset,
    todo: Sequence[grid_.Point],
    settings: dict[str, Any],
    folder: Path,
    retries: int,
    progress: bool,
) -> Iterator[dict[str, Any]]:
    """Submit one task per point; yield each point's ``sweep.json`` entry as it finishes."""
    from distributed import as_completed

    if progress:
        _show_dashboard(client)

    def submit(point: grid_.Point, shared: Any) -> Any:
        return client.submit(
            task.run_point,
            make_model,
            shared,
            point.name,
            point.params,
            settings,
            str(folder / point.name),
            key=f"linlens-sweep-{point.name}-{os.urandom(4).hex()}",
            retries=retries,
            pure=False,
        )

    [shared] = client.scatter([data], broadcast=True, hash=False)
    futures = {submit(point, shared): point for point in todo}
    lost_again = dict.fromkeys((p.name for p in todo), 0)
    finished = as_completed(futures)
    bar = tqdm(total=len(futures), desc="sweep", unit="run", leave=False, disable=not progress)
    try:
        for future in finished:
            point = futures[future]
            if _lost(future) and lost_again[point.name] < LOST_RETRIES:
                lost_again[point.name] += 1  # its worker died: send the data again and rerun
                resent = _resend(client, data)
                if resent is not None:
                    shared = resent
                    again = submit(point, shared)
                    futures[again] = point
                    finished.add(again)
                    continue
            bar.update()
            yield _outcome(future, point)
    finally:
        bar.close()
        for future in futures:
            future.cancel()


#: How often a point whose task was lost (its worker died, its data with it) is submitted again.
LOST_RETRIES = 2


#: Seconds to wait for a worker to come back (its nanny restarts it) before sending the data again.
LOST_WAIT_S = 120


def _resend(client: Client, data: Any) -> Any | None:
    """Scatter ``data`` again once a worker is back; None when none comes back in time."""
    try:
        client.wait_for_workers(1, timeout=LOST_WAIT_S)
        [shared] = client.scatter([data], broadcast=True, hash=False)
    except Exception:  # no worker came back: the point is reported as lost
        return None
    return shared


def _lost(future: Any) -> bool:
    """Whether a future ended because its worker (or the data it needed) was lost."""
    if future.status == "cancelled":
        return True
    if future.status != "error":
        return False
    from distributed import KilledWorker

    try:
        return isinstance(future.exception(), KilledWorker)
    except Exception:  # a cancelled future raises here
        return True


def _outcome(future: Any, point: grid_.Point) -> dict[str, Any]:
    """Return the ``sweep.json`` entry of a finished future (a task that raised has failed)."""
    if future.status == "finished":
        return dict(future.result())
    if _lost(future):
        try:
            cause = future.exception()
        except Exception as err:  # cancelled: the data or the worker was lost
            cause = err
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        error = f"its worker died while running it, also when run again{detail}"
    else:
        cause = future.exception()
        error = f"{type(cause).__name__}: {cause}"
    return {
        "name": point.name,
        "params": point.params,
        "status": "failed",
        "error": error,
        "metrics": {},
        "seconds": None,
    }


def _show_dashboard(client: Client) -> None:
    link = getattr(client, "dashboard_link", None)
    if link and link not in _SHOWN_DASHBOARDS:
        _SHOWN_DASHBOARDS.add(link)
        print(f"Dask dashboard: {link}", file=sys.stdout, flush=True)
