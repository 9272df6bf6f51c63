"""Data loss and writes outside the target: overwrite replaces only runs, swaps survive kills,
and nothing inside a run folder may point outside it."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

import linlens_widgets as ll
from linlens_widgets import cli
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.runs import _swap, atomic_write
from linlens_widgets.runs.store import RunFormatError


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# ------------------------------------------------------------------ what overwrite replaces


@pytest.mark.parametrize(
    "manifest",
    [
        {"manifest_version": 3, "name": "a browser extension"},
        {"name": "a web app", "start_url": "/"},
        {"format": "linlens-run", "schema_version": 99},
        {"format": "linlens-run", "schema_version": "1"},
        [1, 2, 3],
    ],
)
def test_foreign_manifest_folder_is_never_replaced(
    tiny_run: ll.Run, tmp_path: Path, manifest: object
) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "background.js").write_text("chrome.runtime")
    before = tree(folder)
    with pytest.raises(FileExistsError, match="not a run folder"):
        tiny_run.save(folder, overwrite=True)
    assert tree(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["app"]


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", "checkpoints/best.pt", "analysis/figure.png", "analysis/sub/x.safetensors"],
)
def test_files_a_user_kept_in_a_run_are_never_deleted(
    tiny_run: ll.Run, run_dir: Path, extra: str
) -> None:
    kept = run_dir / extra
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text("precious")
    before = tree(run_dir)
    with pytest.raises(FileExistsError, match=extra.split("/")[0]) as info:
        tiny_run.save(run_dir, overwrite=True)
    assert "refusing to overwrite" in str(info.value)
    assert tree(run_dir) == before


def test_a_symlink_in_a_run_blocks_overwrite_and_its_target_survives(
    tiny_run: ll.Run, run_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(b"elsewhere")
    (run_dir / "checkpoints" / "0000.safetensors").unlink()
    (run_dir / "checkpoints" / "0000.safetensors").symlink_to(outside)
    with pytest.raises(FileExistsError, match=r"0000\.safetensors"):
        tiny_run.save(run_dir, overwrite=True)
    assert outside.read_bytes() == b"elsewhere"


def test_a_run_and_an_empty_folder_are_replaced(tiny_run: ll.Run, run_dir: Path) -> None:
    tiny_run.save(run_dir, overwrite=True)
    ll.Run.load(run_dir)
    empty = run_dir.parent / "empty"
    empty.mkdir()
    tiny_run.save(empty, overwrite=True)
    assert len(ll.Run.load(empty)) == len(tiny_run)


def test_cli_overwrite_refuses_a_foreign_folder_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"name": "site"}')
    status = cli.main(["train", "--epochs", "1", "--out", str(folder), "--overwrite"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("linlens: error: ") and "not a run folder" in err
    assert "training" not in err
    assert (folder / "manifest.json").read_text() == '{"name": "site"}'


# ----------------------------------------------------------------------------- kills during a swap

STEPS = ["tmp-created", "written", "old-aside", "new-in", "old-removed", "removing-old"]


def _save_and_die_at(run: ll.Run, target: Path, step: str) -> None:
    """In a forked child: overwrite ``target`` and SIGKILL ourselves at ``step``."""

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if step == "removing-old":  # half-way through deleting the old run

        def partial_rmtree(path: Path, **_: object) -> None:
            (Path(path) / "manifest.json").unlink()
            next(Path(path, "checkpoints").iterdir()).unlink()
            die()

        _swap.shutil.rmtree = partial_rmtree  # type: ignore[assignment]
    else:
        atomic_write._step = lambda name: die() if name == step else None  # type: ignore[assignment]
    run.save(target, overwrite=True)
    os._exit(0)  # the step was never reached


@pytest.mark.parametrize("step", STEPS)
def test_kill_at_every_swap_step_leaves_a_loadable_run(
    tiny_run: ll.Run, run_dir: Path, step: str
) -> None:
    new = ll.Run.load(run_dir)
    new.config = {**new.config, "marker": "new"}
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            _save_and_die_at(new, run_dir, step)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    loaded = ll.Run.load(run_dir)  # restores an old run set aside, if the kill left one
    assert loaded.config.get("marker") == ("new" if step in STEPS[3:] else None)
    assert not _swap.leftovers(run_dir, "old")
    # the next save removes a stale temporary folder and succeeds
    for tmp in _swap.leftovers(run_dir, "tmp"):
        os.utime(tmp, (0, 0))
    tiny_run.save(run_dir, overwrite=True)
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["run"]


def test_load_restores_a_run_left_aside(run_dir: Path) -> None:
    aside = run_dir.parent / f".run.old-{'a' * 12}"
    run_dir.rename(aside)
    assert len(ll.Run.load(run_dir)) == 3
    assert not aside.exists()


def test_recovery_never_deletes_a_set_aside_folder_with_foreign_files(run_dir: Path) -> None:
    aside = run_dir.parent / f".run.old-{'b' * 12}"
    shutil.copytree(run_dir, aside)
    (aside / "notes.txt").write_text("mine")
    ll.Run.load(run_dir)
    assert (aside / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- symlinks on load


@pytest.mark.parametrize(
    "link",
    ["manifest.json", "probe.safetensors", "checkpoints", "checkpoints/0001.safetensors",
     "analysis", "analysis/extra.safetensors"],
)  # fmt: skip
def test_symlinks_inside_a_run_are_refused(run_dir: Path, tmp_path: Path, link: str) -> None:
    path = run_dir / link
    if link.startswith("analysis"):
        AnalysisStore(ll.Run.load(run_dir)).put("extra", {"a": [1.0]}, {})
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    copy = outside / path.name
    if path.is_dir():
        shutil.copytree(path, copy)
        shutil.rmtree(path)
    else:
        shutil.copy(path, copy)
        path.unlink()
    path.symlink_to(copy)
    with pytest.raises(RunFormatError, match="symbolic link"):
        ll.Run.load(run_dir)


def test_a_fifo_in_a_run_is_refused_without_blocking(run_dir: Path) -> None:
    (run_dir / "analysis").mkdir(exist_ok=True)
    os.mkfifo(run_dir / "analysis" / "pipe.safetensors")
    with pytest.raises(RunFormatError, match=r"analysis/pipe\.safetensors is not a regular file"):
        ll.Run.load(run_dir)


def test_header_is_checked_before_the_data_is_read(run_dir: Path) -> None:
    file = run_dir / "checkpoints" / "0001.safetensors"
    data = bytearray(file.read_bytes())
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    key = next(k for k in header if k != "__metadata__")
    header[key]["data_offsets"][1] += 10**12  # announces a terabyte
    text = json.dumps(header).encode()
    file.write_bytes(len(text).to_bytes(8, "little") + text + bytes(data[8 + size :]))
    with pytest.raises(RunFormatError, match=r"checkpoints/0001\.safetensors.*past the file"):
        ll.Run.load(run_dir)


def test_storing_analysis_never_writes_through_a_link_planted_after_loading(
    run_dir: Path, tmp_path: Path
) -> None:
    run = ll.Run.load(run_dir)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.rmtree(run_dir / "analysis", ignore_errors=True)
    (run_dir / "analysis").symlink_to(outside)
    written = AnalysisStore(run).put("late", {"a": [1.0, 2.0]}, {"n": 2})
    assert written is False
    assert list(outside.iterdir()) == []
    assert AnalysisStore(run).get("late") is not None  # kept in memory all the same
