"""The CLI speaks in one line for the second round's errors too: Ctrl-C, a probe set too small
for the default perplexity (lowered, and said so), and too few probes to embed at all."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import linlens_widgets as ll
from linlens_widgets import cli
from tests.hardening.test_cli_errors import one_line_error


@pytest.mark.parametrize("command", ["info", "export", "sweep"])
def test_ctrl_c_is_one_line(monkeypatch, capsys, pristine, tmp_path, command) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(
        importlib.import_module(f"linlens_widgets.cli.{command}"), "run_command", interrupted
    )
    argv = {
        "info": ["info", pristine],
        "export": ["export", pristine, tmp_path / "p.html"],
        "sweep": ["sweep", "--grid", "seed=0", "--out", tmp_path / "s"],
    }[command]
    status = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 130
    assert err.strip() == "linlens: interrupted; nothing was written"


def small_probe_run(tmp_path: Path, probe: int) -> Path:
    run = ll.train(
        ll.models.mlp(64, [8], 10, seed=0),
        ll.datasets.digits(),
        epochs=1,
        checkpoints=2,
        probe=probe,
        progress=False,
    )
    return run.save(tmp_path / f"run{probe}")


def test_export_of_80_probes_lowers_the_perplexity_and_says_so(capsys, tmp_path) -> None:
    run_dir = small_probe_run(tmp_path, 80)
    status = cli.main(["export", str(run_dir), str(tmp_path / "p.html")])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Traceback" not in err
    said = [line for line in err.splitlines() if "perplexity" in line]
    assert len(said) == 1 and "26" in said[0], err
    assert (tmp_path / "p.html").stat().st_size > 10_000


def test_export_of_two_probes_is_one_line(capsys, tmp_path) -> None:
    run_dir = small_probe_run(tmp_path, 2)
    line = one_line_error(capsys, "export", run_dir, tmp_path / "p.html")
    assert "probe" in line
    assert not (tmp_path / "p.html").exists()
