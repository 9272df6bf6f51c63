"""Writes stay where the user asked: record paths stay inside their folder, output targets are
regular files or absent, and every writer goes through the one atomic writer.

Devices are made with ``mknod`` inside the test's own folder (never the system's ``/dev``), so a
regression replaces a test file, not ``/dev/full``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import linlens_widgets as ll
from linlens_widgets import plots
from linlens_widgets.runs import atomic_write
from tests.hardening.test_cli_errors import one_line_error

RUNS = Path(ll.__file__).parent / "runs"


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: raise TimeoutError in the main thread after ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device like /dev/null (1, 3) or /dev/full (1, 7), in the test's folder."""
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except (PermissionError, OSError) as err:
        pytest.skip(f"cannot make a device node here: {err}")
    return path


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "some.fifo"
    os.mkfifo(path)
    return path


@contextlib.contextmanager
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        yield path


def non_regular(tmp_path: Path, kind: str) -> Path:
    if kind == "null":
        return device(tmp_path, "null", 3)
    if kind == "full":
        return device(tmp_path, "full", 7)
    return fifo(tmp_path)


def unchanged(path: Path, kind: str) -> bool:
    mode = path.lstat().st_mode
    return stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)


# ---------------------------------------------------------------------------- one atomic writer


def test_runs_has_one_atomic_write_module() -> None:
    assert not (RUNS / "_atomic.py").exists()
    assert callable(atomic_write.write_file_atomically)
    assert callable(atomic_write.replace_directory)


@pytest.mark.parametrize("kind", ["null", "full", "fifo"])
def test_the_atomic_writer_refuses_a_target_that_is_not_a_regular_file(tmp_path, kind) -> None:
    target = non_regular(tmp_path, kind)
    with deadline(20), pytest.raises(OSError, match="not a regular file"):
        atomic_write.write_file_atomically(target, b"data")
    assert unchanged(target, kind)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_the_atomic_writer_refuses_a_socket(tmp_path) -> None:
    with unix_socket(tmp_path) as path:
        with pytest.raises(OSError, match="not a regular file"):
            atomic_write.write_file_atomically(path, b"data")
        assert stat.S_ISSOCK(path.lstat().st_mode)


def test_an_output_path_under_a_regular_file_says_so(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(OSError, match=r"notes\.txt is a file, not a folder"):
        atomic_write.write_file_atomically(tmp_path / "notes.txt" / "page.html", b"x")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_report_refuses_a_fifo_instead_of_blocking(tiny_run, tmp_path) -> None:
    target = fifo(tmp_path)
    with deadline(60), pytest.raises(OSError, match="not a regular file"):
        plots.report(tiny_run, target, progress=False)
    assert stat.S_ISFIFO(target.lstat().st_mode)


def test_report_goes_through_the_atomic_writer(tiny_run, tmp_path) -> None:
    """A link at the report's path is replaced by the report; the file it points to is kept."""
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours")
    target = tmp_path / "report.html"
    target.symlink_to(elsewhere)
    plots.report(tiny_run, target, progress=False)
    assert elsewhere.read_text() == "not yours"
    assert not target.is_symlink() and "<html" in target.read_text()[:500].lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt", "report.html"]


@pytest.mark.parametrize("command", ["export", "report"])
@pytest.mark.parametrize("kind", ["null", "full", "fifo"])
def test_cli_refuses_a_device_or_fifo_as_output(capsys, run_dir, tmp_path, command, kind) -> None:
    target = non_regular(tmp_path, kind)
    with deadline(60):
        line = one_line_error(capsys, command, run_dir, target)
    assert "not a regular file" in line
    assert unchanged(target, kind)
    assert not (run_dir / "analysis" / "trajectory.safetensors").exists()


def test_demo_html_refuses_a_device(capsys, tmp_path) -> None:
    target = device(tmp_path, "full", 7)
    line = one_line_error(capsys, "demo", "--html", target)
    assert "not a regular file" in line
    assert unchanged(target, "full")


def test_cli_output_under_a_regular_file_is_one_clear_line(capsys, run_dir, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    line = one_line_error(capsys, "report", run_dir, tmp_path / "notes.txt" / "r.html")
    assert "is a file, not a folder" in line
    assert "File exists" not in line


# ---------------------------------------------------------------------------- record paths


def sweep_record(out: Path, names: list[object]) -> None:
    points = [
        {"name": n, "params": {"seed": i}, "status": "ok", "error": None, "metrics": {}}
        for i, n in enumerate(names)
    ]
    record = {"format": "linlens-sweep", "version": 1, "points": points}
    (out / "sweep.json").write_text(json.dumps(record))


@pytest.mark.parametrize(
    "name", ["../victim", "/ABSOLUTE/victim", "a/../../victim", "..", ".", "", "a/b", "a\\b"]
)
def test_a_sweep_point_name_cannot_leave_the_sweep(pristine, tmp_path, name) -> None:
    victim = tmp_path / "victim"
    shutil.copytree(pristine, victim)
    out = tmp_path / "sweep"
    out.mkdir()
    shutil.copytree(pristine, out / "ok-run")
    name = name.replace("/ABSOLUTE/victim", str(victim))
    sweep_record(out, ["ok-run", name])
    with pytest.raises(ValueError, match=r"sweep\.json") as err:
        ll.Sweep.load(out)
    assert repr(name) in str(err.value) or "name" in str(err.value)
    assert not (victim / "analysis" / "trajectory.safetensors").exists()


def test_a_sweep_point_that_is_a_link_out_of_the_sweep_is_refused(pristine, tmp_path) -> None:
    victim = tmp_path / "victim"
    shutil.copytree(pristine, victim)
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "linked").symlink_to(victim)
    sweep_record(out, ["linked"])
    with pytest.raises((ValueError, ll.RunFormatError)):
        ll.Sweep.load(out).runs[0]
    assert not (victim / "analysis" / "trajectory.safetensors").exists()


def test_the_sweep_explorer_never_writes_outside_the_sweep(pristine, tmp_path) -> None:
    victim = tmp_path / "victim"
    shutil.copytree(pristine, victim)
    out = tmp_path / "sweep"
    out.mkdir()
    sweep_record(out, ["../victim"])
    with pytest.raises(ValueError):
        ll.SweepExplorer(ll.Sweep.load(out))
    assert sorted(p.name for p in victim.iterdir()) == sorted(p.name for p in pristine.iterdir())


def test_a_safe_point_name_still_loads(pristine, tmp_path) -> None:
    out = tmp_path / "sweep"
    out.mkdir()
    shutil.copytree(pristine, out / "init_scale=0.001__seed=-1")
    sweep_record(out, ["init_scale=0.001__seed=-1"])
    sw = ll.Sweep.load(out)
    assert sw.runs[0].path == out / "init_scale=0.001__seed=-1"
