"""`linlens train | export | info | demo` end to end on digits, with tiny networks and epochs.

Everything that embeds (a t-SNE, seconds even when tiny) is marked slow.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import numpy as np
import pytest

import linlens_widgets
from linlens_widgets import cli
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.subcluster_tracking import ATTACHMENT as SUBCLUSTER_TRACKS
from linlens_widgets.cli import demo, user_cache
from linlens_widgets.cli.demo_notebook import write_demo_notebook
from linlens_widgets.widgets.embedding import menu_classes
from tests.helpers.offline import page_config

# a network, run length and probe small enough for the aligned t-SNE to take seconds
TINY = ["--epochs", "2", "--hidden", "16", "16", "--checkpoints", "3", "--probe", "120"]


def page_array(entry: dict) -> np.ndarray:
    """An array as a saved page's configuration holds it (base64 bytes, dtype, shape)."""
    raw = base64.b64decode(entry["b64"])
    return np.frombuffer(raw, dtype=entry["dtype"]).reshape(entry["shape"])


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run written by `linlens train` (tiny, 3 checkpoints, embedded)."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    argv = ["train", *TINY, "--out", str(out)]
    assert cli.main(argv) == 0
    return out


@pytest.mark.slow
def test_train_writes_an_embedded_run(trained: Path) -> None:
    run = linlens_widgets.Run.load(trained)
    assert len(run.checkpoints) == 3
    assert run.checkpoints[-1].epoch == pytest.approx(2)
    assert run.dataset_name == "digits"
    assert run.model_spec is not None
    assert "trajectory" in AnalysisStore(run)
    trajectory = linlens_widgets.embed(run, progress=False)
    assert trajectory.positions.shape == (3, len(run.probe_labels), 2)


def test_train_refuses_then_replaces_with_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "r"
    argv = ["train", *TINY, "--no-embed", "--out", str(out)]
    assert run_cli(capsys, *argv)[0] == 0
    assert "trajectory" not in AnalysisStore(linlens_widgets.Run.load(out))
    status, _, err = run_cli(capsys, *argv, "--seed", "1")
    assert status == 2 and "--overwrite" in err
    status, _, err = run_cli(capsys, *argv, "--seed", "1", "--overwrite", "--bias")
    assert status == 0, err
    assert linlens_widgets.Run.load(out).model_spec["kwargs"]["bias"] is True


@pytest.mark.slow
def test_info_summarises_the_run(capsys: pytest.CaptureFixture[str], trained: Path) -> None:
    status, out, _ = run_cli(capsys, "info", str(trained))
    assert status == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["dataset"].strip().startswith("digits")
    assert lines["checkpoints"].strip().startswith("3 (epochs 0 to 2)")
    assert "probe" in lines and "final" in lines
    assert "not computed" not in lines["embedding"]


@pytest.mark.slow
def test_export_writes_an_offline_page(
    capsys: pytest.CaptureFixture[str],
    trained: Path,
    tmp_path: Path,
    assert_offline_html: Callable[[Path], str],
) -> None:
    page = tmp_path / "pages" / "tiny.html"
    status, _, err = run_cli(capsys, "export", str(trained), str(page))
    assert status == 0, err
    html = assert_offline_html(page)
    config = page_config(html)
    kinds = {model["kind"] for model in config["models"].values()}
    assert config["models"][config["root"]]["kind"] == "explorer"
    assert kinds == {"explorer", "embedding", "compare", "scrubber"}
    assert "<title>linlens — digits</title>" in html
    assert "embedding" not in err  # the trajectory saved by `train` was reused
    assert "weights, compressed without loss" in html
    exact = tmp_path / "pages" / "float32.html"
    status, _, err = run_cli(capsys, "export", str(trained), str(exact), "--precision", "float32")
    assert status == 0, err
    assert page_config(assert_offline_html(exact))["network"]["spec"]["dtype"] == "float32"


@pytest.mark.slow
def test_report_writes_an_offline_bokeh_page(
    capsys: pytest.CaptureFixture[str],
    trained: Path,
    tmp_path: Path,
    assert_offline_html: Callable[[Path], str],
) -> None:
    page = tmp_path / "report.html"
    status, _, err = run_cli(capsys, "report", str(trained), str(page))
    assert status == 0, err
    html = assert_offline_html(page)
    assert "Class similarity of W_eff" in html and "Sub-cluster persistence" in html
    assert (trained / "analysis" / "plots.subclusters.safetensors").is_file()  # cached in the run


@pytest.mark.slow
def test_export_into_a_folder_is_refused(
    capsys: pytest.CaptureFixture[str], trained: Path, tmp_path: Path
) -> None:
    status, _, err = run_cli(capsys, "export", str(trained), str(tmp_path))
    assert status == 2 and "is a folder" in err


# --------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One private cache for the demo tests (LINLENS_CACHE_DIR)."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINLENS_CACHE_DIR", str(path))
        yield path


@pytest.mark.slow
def test_demo_html_trains_once_then_reuses_the_cache(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    demo_cache: Path,
    tmp_path: Path,
    assert_offline_html: Callable[[Path], str],
) -> None:
    first = tmp_path / "first.html"
    status, _, err = run_cli(capsys, "demo", "--html", str(first), *TINY)
    assert status == 0, err
    assert "training" in err and "cached the run" in err
    assert "tracking the sub-clusters" in err
    state = page_config(assert_offline_html(first))["models"]["embedding"]["state"]
    labels, groups = (page_array(state[name]) for name in ("_labels", "_groups"))
    assert menu_classes(groups, labels)  # the page's Colour menu lists "sub-clusters of c"
    manifests = list(demo_cache.glob("demo-*/run/manifest.json"))
    assert len(manifests) == 1
    written = manifests[0].stat().st_mtime_ns

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached demo run was trained again")

    monkeypatch.setattr(linlens_widgets, "train", no_training)
    second = tmp_path / "second.html"
    status, _, err = run_cli(capsys, "demo", "--html", str(second), *TINY)
    assert status == 0, err
    assert "reusing cached run" in err and "training" not in err
    assert "sub-clusters" not in err  # tracked once, stored with the cached run
    assert manifests[0].stat().st_mtime_ns == written
    assert_offline_html(second)


@pytest.mark.slow
def test_the_demo_run_keeps_its_sub_clusters_and_a_stays_off_them(
    capsys: pytest.CaptureFixture[str], demo_cache: Path, tmp_path: Path
) -> None:
    """The cached demo run stores its tracked sub-clusters, so the explorer its notebook builds
    lists "sub-clusters of c" in the Colour menu, and the default A is in no class listed."""
    params = {**demo.DEMO_PARAMS, "hidden": [16, 16], "epochs": 2, "checkpoints": 3, "probe": 120}
    run_dir = user_cache.entry_dir("demo", params) / "run"
    if not run_dir.exists():  # run on its own: make the cached run the other demo tests share
        assert run_cli(capsys, "demo", "--html", str(tmp_path / "p.html"), *TINY)[0] == 0
    run = linlens_widgets.Run.load(run_dir)
    assert SUBCLUSTER_TRACKS in AnalysisStore(run)
    explorer = linlens_widgets.LensExplorer(run)  # the demo notebook's cell
    labels = np.asarray(run.probe_labels)
    split = menu_classes(explorer.embedding._groups, labels)
    assert split, "no class of the demo run has two tracked sub-clusters"
    [a], [b] = explorer.compare.a, explorer.compare.b
    assert labels[a] not in split
    if set(labels) - set(split) - {labels[a]}:  # a plain class other than A's exists
        assert labels[b] not in split


@pytest.mark.slow
def test_demo_opens_jupyterlab_on_a_notebook_that_loads_the_cached_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, demo_cache: Path
) -> None:
    launched: list[tuple[list[str], Path]] = []

    class FakeLab:
        def __init__(self, command: list[str], cwd: Path) -> None:
            launched.append((command, Path(cwd)))

        def wait(self) -> int:
            return 0

    executed: list[Path] = []
    monkeypatch.setattr(subprocess, "Popen", FakeLab)
    monkeypatch.setattr(demo, "execute_demo_notebook", lambda path: executed.append(path))
    status, out, err = run_cli(capsys, "demo", "--no-browser", "--port", "8899", *TINY)
    assert status == 0, err
    [(command, cwd)] = launched
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert "--no-browser" in command and "--port=8899" in command
    # the printed address opens the notebook itself, with the token Lab was started with
    [token] = [c.split("=", 1)[1] for c in command if c.startswith("--IdentityProvider.token=")]
    url = f"http://localhost:8899/lab/tree/{command[4]}?token={token}"
    assert url in out and len(token) >= 24
    assert "Next:" in out and "slider" in out
    assert executed == [cwd / command[4]]  # run ahead, before Lab starts
    assert ("--allow-root" in command) == (os.geteuid() == 0)  # Jupyter refuses root otherwise
    notebook = cwd / command[4]
    source = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells)
    run_dir = cwd / "run"
    assert repr(str(run_dir)) in source and "LensExplorer(run)" in source
    assert (run_dir / "manifest.json").is_file()
    assert cwd.parent == demo_cache


@pytest.mark.slow
def test_demo_keys_the_cache_on_its_parameters(
    capsys: pytest.CaptureFixture[str], demo_cache: Path, tmp_path: Path
) -> None:
    before = {p.name for p in demo_cache.glob("demo-*")}
    argv = ["demo", "--html", str(tmp_path / "p.html"), *TINY, "--epochs", "1"]
    status, _, err = run_cli(capsys, *argv)
    assert status == 0, err
    assert "training" in err
    after = {p.name for p in demo_cache.glob("demo-*")}
    assert len(after - before) == 1


def test_demo_notebook_keeps_user_edits(tmp_path: Path) -> None:
    notebook = write_demo_notebook(tmp_path / "nb.ipynb", tmp_path / "run")
    cells = nbformat.read(notebook, as_version=4).cells
    assert [c.cell_type for c in cells].count("code") >= 2
    notebook.write_text(json.dumps({**json.loads(notebook.read_text()), "edited": True}))
    write_demo_notebook(notebook, tmp_path / "run")
    assert json.loads(notebook.read_text())["edited"] is True


def test_demo_mnist_offline_says_in_one_line_where_to_put_the_files(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """No network: one line naming the folder and --root, no traceback, nothing trained."""
    import urllib.error
    import urllib.request

    monkeypatch.setenv("LINLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LINLENS_MNIST", raising=False)

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    page = tmp_path / "p.html"
    status, _, err = run_cli(capsys, "demo", "--dataset", "mnist", "--html", str(page), *TINY)
    assert status == 2
    folder = demo.demo_data_folder("mnist")
    assert folder == tmp_path / "cache" / "datasets" / "mnist"
    [error] = [line for line in err.splitlines() if line.startswith("linlens: error:")]
    assert "could not download mnist" in error and str(folder) in error and "--root DIR" in error
    assert "Traceback" not in err and not page.exists()
    assert not list((tmp_path / "cache").glob("demo-*/run"))


@pytest.mark.slow
def test_demo_trains_on_mnist_files_in_the_download_folder_or_root(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Files already in the demo's download folder (or under --root) are used as MNIST."""
    from tests.runs.test_datasets import write_idx_set

    monkeypatch.setenv("LINLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LINLENS_MNIST", raising=False)
    write_idx_set(demo.demo_data_folder("mnist"), gz=False, n_train=120, n_test=100, hw=(6, 6))
    shape = ["--epochs", "1", "--hidden", "8", "--checkpoints", "2", "--probe", "100"]
    status, _, err = run_cli(
        capsys, "demo", "--dataset", "mnist", "--html", str(tmp_path / "a.html"), *shape
    )
    assert status == 0, err
    [manifest] = (tmp_path / "cache").glob("demo-*/run/manifest.json")
    assert linlens_widgets.Run.load(manifest.parent).dataset_name == "mnist"
    write_idx_set(tmp_path / "mine", gz=True, n_train=120, n_test=100, hw=(6, 6))
    argv = ["demo", "--dataset", "fashion-mnist", "--root", str(tmp_path / "mine")]
    status, _, err = run_cli(capsys, *argv, "--html", str(tmp_path / "b.html"), *shape)
    assert status == 0, err
    names = {
        linlens_widgets.Run.load(m.parent).dataset_name
        for m in (tmp_path / "cache").glob("demo-*/run/manifest.json")
    }
    assert names == {"mnist", "fashion_mnist"}
    status, _, err = run_cli(
        capsys, "demo", "--root", str(tmp_path / "mine"), "--html", str(tmp_path / "c.html")
    )
    assert status == 2 and "--root applies to mnist and fashion-mnist" in err
