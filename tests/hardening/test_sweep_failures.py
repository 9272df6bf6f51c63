"""Sweeps fail loudly and fast: grid values checked on the driver against the parameters' types
before any cluster starts, a cap on the points with a linear expansion, one deadline for reaching
a scheduler, a lost task run again with its data re-sent (else "its worker died"), concurrent
sweeps into one folder lose nothing, a damaged record names its entry, and point names keep every
character that tells values apart.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pytest

import linlens_widgets as ll
from linlens_widgets.sweeps import execute, record
from linlens_widgets.sweeps import grid as sg
from tests.hardening.test_cli_errors import one_line_error
from tests.hardening.test_write_targets import deadline

cloudpickle.register_pickle_by_value(sys.modules[__name__])

MAKE = functools.partial(ll.models.mlp, n_in=64, hidden=[8], n_out=10)


@pytest.fixture(scope="module")
def data() -> ll.Dataset:
    return ll.datasets.digits()


@pytest.fixture
def no_cluster(monkeypatch) -> None:
    """Fail the test if a cluster would start."""

    def refuse(*args, **kwargs):
        raise AssertionError("a cluster was started before the grid was checked")

    monkeypatch.setattr(execute, "_cluster", refuse)


# ---------------------------------------------------------------------------- grid values


@pytest.mark.parametrize(
    ("grid", "name", "value"),
    [
        ({"bias": ["yes", "no"]}, "bias", "yes"),
        ({"bias": [True, "no"]}, "bias", "no"),
        ({"bias": [1, 0]}, "bias", "1"),
        ({"init_scale": ["big"]}, "init_scale", "big"),
        ({"init_scale": [True]}, "init_scale", "True"),
        ({"epochs": [1.5]}, "epochs", "1.5"),
        ({"epochs": ["3"]}, "epochs", "3"),
        ({"batch_size": [False]}, "batch_size", "False"),
        ({"lr": ["fast"]}, "lr", "fast"),
        ({"hidden": [[8, "a"]]}, "hidden", "a"),
        ({"hidden": [[0]]}, "hidden", "0"),
        ({"hidden": [8]}, "hidden", "8"),
        ({"seed": [0.5]}, "seed", "0.5"),
    ],
)
def test_grid_values_are_checked_on_the_driver(data, tmp_path, no_cluster, grid, name, value):
    with pytest.raises(ValueError, match=name) as err:
        ll.sweep(MAKE, data, grid, out=tmp_path / "s", train_kwargs={"epochs": 1})
    assert value in str(err.value)
    assert not (tmp_path / "s" / "sweep.json").exists()


def test_good_values_of_every_type_pass_the_check() -> None:
    grid = {"bias": [True, False], "init_scale": [1, 0.5], "hidden": [[8], [4, 4]], "seed": [0]}
    sg.check_values(grid, MAKE)  # no error


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("bias=yes,no", [True, False]),
        ("bias=true,false", [True, False]),
        ("bias=1,0", [True, False]),
        ("bias=YES,No", [True, False]),
    ],
)
def test_the_cli_parses_booleans_strictly(text, want) -> None:
    name, values = sg.parse_grid_option(text, MAKE)
    assert name == "bias" and values == want
    assert all(type(v) is bool for v in values)


@pytest.mark.parametrize("text", ["bias=maybe", "bias=2", "bias=yes,nope", "bias=none"])
def test_the_cli_refuses_other_booleans_in_one_line(capsys, tmp_path, text) -> None:
    line = one_line_error(capsys, "sweep", "--grid", text, "--out", tmp_path / "s")
    assert "bias" in line
    assert text.split("=")[1].split(",")[-1] in line or "maybe" in line or "2" in line


def test_the_cli_refuses_a_wrong_int_in_one_line(capsys, tmp_path) -> None:
    line = one_line_error(capsys, "sweep", "--grid", "epochs=1.5", "--out", tmp_path / "s")
    assert "epochs" in line and "1.5" in line


# ---------------------------------------------------------------------------- size of a grid


def test_a_grid_over_the_cap_is_refused_at_once() -> None:
    grid = {f"p{i}": [0, 1] for i in range(16)}
    start = time.perf_counter()
    with pytest.raises(ValueError, match="65,536 points"):
        sg.expand_grid(grid)
    assert time.perf_counter() - start < 2


def test_a_large_grid_expands_in_linear_time() -> None:
    grid = {f"p{i}": [0, 1] for i in range(16)}
    start = time.perf_counter()
    points = sg.expand_grid(grid, max_points=2**16)
    assert len(points) == 2**16 and len({p.name for p in points}) == 2**16
    assert time.perf_counter() - start < 20  # the quadratic name check took 45 s


# ---------------------------------------------------------------------------- point names


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (-1, 1),
        (-0.5, 0.5),
        (1e-3, -1e-3),
        ("a b", "a-b"),
        ("a/b", "a-b"),
        ("x%", "x-"),
        ("-", "--"),
        (".5", "5"),
        ([-1, 2], [1, 2]),
    ],
)
def test_point_names_keep_every_distinguishing_character(a, b) -> None:
    assert sg.point_name({"x": a}) != sg.point_name({"x": b})
    for value in (a, b):
        name = sg.point_name({"x": value})
        assert "/" not in name and " " not in name and not name.startswith(".")
        record.check_name(name, "test")  # a name the sweep writes is one it loads


def test_readable_names_stay_readable() -> None:
    assert sg.point_name({"init_scale": 0.001, "seed": -1}) == "init_scale=0.001__seed=-1"


# ---------------------------------------------------------------------------- the scheduler


@contextlib.contextmanager
def silent_server(reply: bytes = b"") -> Iterator[int]:
    """A plain TCP server on 127.0.0.1 that accepts, optionally replies, and never speaks Dask."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if reply:
                with contextlib.suppress(OSError):
                    conn.sendall(reply)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"])
def test_a_port_that_is_no_scheduler_fails_within_the_deadline(
    capsys, tmp_path, monkeypatch, reply
):
    from linlens_widgets.cli import sweep as sweep_command

    monkeypatch.setattr(sweep_command, "SCHEDULER_TIMEOUT_S", 3)
    with silent_server(reply) as port, deadline(60):
        start = time.perf_counter()
        line = one_line_error(
            capsys, "sweep", "--grid", "seed=0", "--out", tmp_path / "s",
            "--scheduler", f"tcp://127.0.0.1:{port}",
        )  # fmt: skip
        elapsed = time.perf_counter() - start
    assert "scheduler" in line and str(port) in line
    assert elapsed < 15, elapsed


@pytest.mark.parametrize(
    "address",
    ["", "tcp://", "tcp://host", "tcp://host:port", "tcp://host:99999", "http://h:1", "://", ":1"],
)
def test_malformed_scheduler_addresses_are_one_line(capsys, tmp_path, address) -> None:
    line = one_line_error(
        capsys, "sweep", "--grid", "seed=0", "--out", tmp_path / "s", "--scheduler", address
    )
    assert "--scheduler" in line


def test_a_closed_client_is_a_clear_error(data, tmp_path) -> None:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        client = Client(cluster)
        client.close()
        with pytest.raises(ValueError, match="client= is closed"):
            ll.sweep(MAKE, data, {"seed": [0]}, out=tmp_path / "s", client=client)


# ---------------------------------------------------------------------------- lost tasks


class _Cancelled:
    status = "cancelled"

    def exception(self):
        return None


class _Killed:
    status = "error"

    def exception(self):
        from distributed import KilledWorker

        return KilledWorker("linlens-sweep-x", "tcp://127.0.0.1:1234")


@pytest.mark.parametrize("future", [_Cancelled(), _Killed()])
def test_a_lost_point_says_its_worker_died(future) -> None:
    point = sg.Point("seed=0", {"seed": 0})
    entry = execute._outcome(future, point)
    assert entry["status"] == "failed"
    assert "its worker died" in entry["error"]
    assert "NoneType" not in entry["error"]


def dying_mlp(seed: int, *, marker: str):
    """A digits MLP whose first build kills its own worker process."""
    try:
        with open(marker, "x", encoding="utf-8") as f:
            f.write(str(os.getpid()))
    except FileExistsError:
        return ll.models.mlp(64, [8], 10, seed=seed)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_a_worker_killed_on_a_one_worker_cluster_runs_its_point_again(data, tmp_path) -> None:
    from distributed import Client, LocalCluster

    make = functools.partial(dying_mlp, marker=str(tmp_path / "killed"))
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        sw = ll.sweep(
            make, data, {"seed": [0]}, out=tmp_path / "s", train_kwargs={"epochs": 1},
            analyses=(), client=client, progress=False,
        )  # fmt: skip
    assert (tmp_path / "killed").exists()
    assert [p.status for p in sw.points] == ["ok"], sw.table


# ---------------------------------------------------------------------------- the record


SETTINGS = {"train_kwargs": {"epochs": 1}, "analyses": []}


def entry(name: str) -> dict:
    return {"name": name, "params": {}, "status": "ok", "error": None, "metrics": {}}


def test_two_sweeps_writing_one_record_lose_nothing(tmp_path) -> None:
    """Each sweep knows only its own points; every write keeps the other's."""
    a = {"a0": entry("a0")}
    b = {"b0": entry("b0")}
    execute._write(tmp_path, SETTINGS, a, [])
    execute._write(tmp_path, SETTINGS, b, [])
    a["a1"] = entry("a1")
    execute._write(tmp_path, SETTINGS, a, [])
    names = {p.name for p in ll.Sweep.load(tmp_path).points}
    assert names == {"a0", "a1", "b0"}


def test_many_concurrent_writers_lose_nothing(tmp_path) -> None:
    def writer(k: int) -> None:
        mine: dict = {}
        for i in range(10):
            mine[f"w{k}-{i}"] = entry(f"w{k}-{i}")
            execute._write(tmp_path, SETTINGS, dict(mine), [])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ll.Sweep.load(tmp_path).points) == 60


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("not a dict", "point 1"),
        ({"params": {}, "status": "ok"}, "no name"),
        ({"name": 5, "status": "ok"}, "point 1"),
        ({"name": "x", "params": [1], "status": "ok"}, "'x'"),
        ({"name": "x", "status": "done"}, "status"),
        ({"name": "x", "status": "ok", "metrics": {"acc": "high"}}, "metrics"),
        ({"name": "x", "status": "failed", "error": 42}, "error"),
    ],
)
def test_a_damaged_record_entry_is_one_clear_error(tmp_path, capsys, bad, fragment) -> None:
    points = [entry("good"), bad]
    text = json.dumps({"format": "linlens-sweep", "version": 1, "points": points})
    (tmp_path / "sweep.json").write_text(text)
    with pytest.raises(ValueError, match=r"sweep\.json") as err:
        ll.Sweep.load(tmp_path)
    assert fragment in str(err.value)
    line = one_line_error(capsys, "sweep", "--grid", "seed=0", "--out", tmp_path)
    assert "sweep.json" in line


def test_a_record_path_inside_its_folder_is_fine(tmp_path: Path) -> None:
    execute._write(tmp_path, SETTINGS, {"seed=-1": entry("seed=-1")}, [])
    assert [p.name for p in ll.Sweep.load(tmp_path).points] == ["seed=-1"]
