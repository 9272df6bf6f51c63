"""`linlens` argument parsing and user errors: exit status 2, `linlens: error: …`, no traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from linlens_widgets import cli
from linlens_widgets.cli import demo_notebook, user_cache
from linlens_widgets.cli.demo import DEMO_PARAMS


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_user_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert error_lines, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    for command in ("demo", "train", "export", "report", "info"):
        assert command in out
    status, out, _ = run_cli(capsys, "--version")
    assert status == 0 and out.startswith("linlens ")


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys)
    assert_user_error(status, err, "COMMAND")


def test_train_parses_every_option() -> None:
    argv = (
        "train --dataset mnist --root data --hidden 64 32 --epochs 3 --out runs/a --lr 0.05 "
        "--optimizer adam --batch-size 32 --checkpoints 0,0.5,3 --seed 7 --bias "
        "--init-scale 0.01 --overwrite --no-embed"
    )
    args = cli.build_parser().parse_args(argv.split(" "))
    assert args.dataset == "mnist" and args.root == Path("data")
    assert args.hidden == [64, 32] and args.epochs == 3 and args.out == Path("runs/a")
    assert (args.lr, args.optimizer, args.batch_size, args.seed) == (0.05, "adam", 32, 7)
    assert args.checkpoints == [0.0, 0.5, 3.0]
    assert args.bias is True and args.init_scale == 0.01
    assert args.overwrite is True and args.embed is False


def test_train_defaults_are_the_papers_bias_free_mlp() -> None:
    args = cli.build_parser().parse_args(["train", "--out", "runs/a"])
    assert args.dataset == "digits" and args.hidden == [256, 256]
    assert args.bias is False and args.embed is True and args.checkpoints == "log"
    assert args.lr is None and args.batch_size is None  # train()'s own defaults apply


@pytest.mark.parametrize(
    ("value", "expected"),
    [("log", "log"), ("epoch", "epoch"), ("12", 12), ("3,0,1.5", [0, 1.5, 3])],
)
def test_checkpoint_schedules(value: str, expected: object) -> None:
    args = cli.build_parser().parse_args(["train", "--out", "r", "--checkpoints", value])
    assert args.checkpoints == expected


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--out", "r", "--checkpoints", "often"], "--checkpoints"),
        (["train", "--out", "r", "--checkpoints", "1"], "at least 2"),
        (["train", "--out", "r", "--epochs", "0"], "positive integer"),
        (["train", "--out", "r", "--hidden", "-4"], "positive integer"),
        (["train", "--out", "r", "--dataset", "cifar"], "invalid choice"),
        (["train", "--epochs", "3"], "--out"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    status, _, err = run_cli(capsys, *argv)
    assert_user_error(status, err, fragment)


def test_missing_mnist_folder_names_the_expected_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-mnist-here"
    status, _, err = run_cli(
        capsys, "train", "--dataset", "mnist", "--root", str(missing), "--out", str(tmp_path / "r")
    )
    assert_user_error(status, err, "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    assert err.startswith("linlens: error: ")
    assert not (tmp_path / "r").exists()


def test_mnist_root_defaults_to_its_environment_variable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINLENS_MNIST", raising=False)
    status, _, err = run_cli(capsys, "train", "--dataset", "mnist", "--out", str(tmp_path / "r"))
    assert_user_error(status, err, "--root", "LINLENS_MNIST")

    monkeypatch.setenv("LINLENS_MNIST", str(tmp_path / "env-mnist"))
    status, _, err = run_cli(capsys, "train", "--dataset", "mnist", "--out", str(tmp_path / "r"))
    assert_user_error(status, err, str(tmp_path / "env-mnist"), "train-images-idx3-ubyte")


def test_root_is_refused_for_digits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run_cli(capsys, "train", "--root", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_user_error(status, err, "--root", "digits")


def test_existing_out_needs_overwrite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "runs" / "taken"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    status, _, err = run_cli(capsys, "train", "--epochs", "1", "--out", str(out))
    assert_user_error(status, err, str(out), "--overwrite")
    assert (out / "notes.txt").read_text() == "keep me"


def test_checkpoint_epochs_after_the_run_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["train", "--epochs", "2", "--checkpoints", "0,5", "--out", str(tmp_path / "r")]
    status, _, err = run_cli(capsys, *argv)
    assert_user_error(status, err, "epoch 5", "last epoch (2)")


@pytest.mark.parametrize("command", ["export", "report", "info"])
def test_missing_run_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    page = [] if command == "info" else [str(tmp_path / "p.html")]
    argv = [command, str(tmp_path / "nope"), *page]
    status, _, err = run_cli(capsys, *argv)
    assert_user_error(status, err, "no run folder", str(tmp_path / "nope"))


def test_a_folder_that_is_not_a_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "manifest.json").write_text("{not json")
    status, _, err = run_cli(capsys, "info", str(tmp_path / "junk"))
    assert_user_error(status, err, "junk")


def test_demo_without_jupyterlab_says_how_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "jupyterlab" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    status, _, err = run_cli(capsys, "demo")
    assert_user_error(status, err, "pip install 'linlens-widgets[lab]'")
    assert not cache_dir.exists()  # it failed before training anything


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINLENS_CACHE_DIR", str(tmp_path / "c"))
    assert user_cache.user_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("LINLENS_CACHE_DIR")
    assert user_cache.user_cache_dir().name == "linlens-widgets"


def test_cache_key_covers_parameters_and_version() -> None:
    key = user_cache.cache_key(DEMO_PARAMS)
    assert key == user_cache.cache_key(dict(reversed(list(DEMO_PARAMS.items()))))
    assert key != user_cache.cache_key({**DEMO_PARAMS, "epochs": 21})
    assert key != user_cache.cache_key(DEMO_PARAMS, version="0.0.0-other")
    assert len(key) == 16


def test_the_demo_notebook_is_trusted_so_its_saved_widgets_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JupyterLab renders widget outputs only in trusted notebooks; the demo signs the one it ran.
    import nbformat
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    ]
    assert not NotebookNotary().check_signature(notebook)
    demo_notebook._trust(notebook)
    assert NotebookNotary().check_signature(notebook)
