"""The CLI speaks in one line: every user error exits 2 with a single `linlens: error: …` line
naming what to change, before any training, and `info` prints no raw control characters."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from linlens_widgets import cli
from linlens_widgets.runs import _idx


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI; assert exit 2 and exactly one stderr line `linlens: error: …`; return it."""
    status = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip("\n").split("\n")
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("linlens: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--out", "r", "--lr", "inf"], "--lr"),
        (["train", "--out", "r", "--lr", "nan"], "--lr"),
        (["train", "--out", "r", "--init-scale", "-inf"], "--init-scale"),
        (["train", "--out", "r", "--checkpoints", "nan"], "--checkpoints"),
        (["train", "--out", "r", "--checkpoints", "0,inf"], "--checkpoints"),
        (["train", "--out", "r", "--epochs", "0"], "--epochs"),
        (["train", "--out", "r", "--seed", "99999999999999999999999"], "--seed"),
        (["train", "--out", "r", "--seed", "-5"], "--seed"),
        (["train", "--out", "r", "--hidden", "-4"], "--hidden"),
        (["train", "--out", "r", "--dataset", "cifar"], "--dataset"),
        (["train", "--out", "r", "--bogus"], "--bogus"),
        (["train"], "--out"),
        ([], "COMMAND"),
        (["nonsense"], "nonsense"),
    ],
)
def test_argument_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    assert fragment in one_line_error(capsys, *argv)


def test_too_large_a_probe_is_refused_before_training(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, "train", "--out", "r", "--probe", "100000", "--epochs", "1")
    assert "--probe" in line and "450" in line


@pytest.mark.parametrize("hidden", [["100000000"], ["60000", "60000"]])
def test_a_huge_hidden_layer_is_refused_before_building(
    capsys: pytest.CaptureFixture[str], hidden: list[str]
) -> None:
    line = one_line_error(capsys, "train", "--out", "r", "--hidden", *hidden)
    assert "--hidden" in line and "parameters" in line


def test_a_diverging_run_ends_in_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["train", "--out", tmp_path / "r", "--lr", "1e30", "--hidden", "8", "--epochs", "1"]
    status = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert errors == [err.strip().splitlines()[-1]]
    assert errors[0].startswith("linlens: error: training diverged") and "--lr" in errors[0]
    assert not (tmp_path / "r").exists()


def test_out_problems_are_found_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "--out" in one_line_error(capsys, "train", "--out", a_file / "run")
    assert "--overwrite" in one_line_error(capsys, "train", "--out", a_file)
    assert "--out" in one_line_error(capsys, "train", "--out", a_file, "--overwrite")


def _mnist_folder(root: Path) -> Path:
    root.mkdir()
    for role, stem in _idx.STANDARD_FILES.items():
        magic = _idx.IMAGES_MAGIC if "images" in role else _idx.LABELS_MAGIC
        dims = [4, 28, 28] if "images" in role else [4]
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
        size = 4 * 28 * 28 if "images" in role else 4
        (root / f"{stem}.gz").write_bytes(gzip.compress(header + bytes(size)))
    return root


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:12] + b"\x00" * (len(data) - 12),  # corrupt
        lambda data: gzip.compress(b"\x00\x00\x08\x01" + bytes(20)),  # wrong magic
    ],
)
def test_corrupt_idx_files_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, damage
) -> None:
    root = _mnist_folder(tmp_path / "mnist")
    file = root / "t10k-images-idx3-ubyte.gz"
    file.write_bytes(damage(file.read_bytes()))
    line = one_line_error(
        capsys, "train", "--dataset", "mnist", "--root", root, "--out", tmp_path / "r"
    )
    assert "t10k-images-idx3-ubyte.gz" in line


def test_nan_weights_in_a_run_are_one_line(
    capsys: pytest.CaptureFixture[str], run_dir: Path, tmp_path: Path
) -> None:
    file = run_dir / "checkpoints" / "0001.safetensors"
    tensors = load_file(str(file))
    key = next(iter(tensors))
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(file))
    for command in (["info", run_dir], ["export", run_dir, tmp_path / "p.html"]):
        assert "0001.safetensors" in one_line_error(capsys, *command)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "manifest.json").write_text('{"format": "linlens-run", "sch'),
        lambda d: (d / "manifest.json").write_text("[" * 10_000 + "]" * 10_000),
        lambda d: (d / "probe.safetensors").write_bytes(b"\x00" * 3),
        lambda d: (d / "checkpoints" / "0000.safetensors").unlink(),
    ],
)
def test_a_damaged_run_is_one_line(capsys: pytest.CaptureFixture[str], run_dir: Path, damage):
    damage(run_dir)
    assert str(run_dir) in one_line_error(capsys, "info", run_dir)


def test_an_unwritable_page_is_one_line(
    capsys: pytest.CaptureFixture[str], run_dir: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_line_error(capsys, "report", run_dir, a_file / "report.html")


def test_info_prints_no_control_characters(
    capsys: pytest.CaptureFixture[str], run_dir: Path
) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["dataset"]["name"] = "evil\x1b[2J\x07\x1b]0;pwned\x07"
    manifest["dataset"]["classes"][3] = "three\r\x08\u202e"
    manifest["training"]["note\x1b[31m"] = "red\n\tline"
    manifest["checkpoints"][-1]["metrics"]["acc\x9b1m"] = 0.5
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    assert cli.main(["info", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert not [c for c in out if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]
    assert "\u202e" not in out
    assert "evil\\x1b[2J\\x07" in out and "three\\r" in out
    assert len(out.splitlines()) == 8
