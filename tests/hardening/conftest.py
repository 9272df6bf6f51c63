"""A tiny trained run shared by the hardening tests, and a pristine saved copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import linlens_widgets as ll


@pytest.fixture(scope="session")
def tiny_run() -> ll.Run:
    data = ll.datasets.digits()
    model = ll.models.mlp(64, [16], 10, bias=True, seed=0)
    return ll.train(model, data, epochs=1, checkpoints=3, probe=40, progress=False)


@pytest.fixture(scope="session")
def pristine(tiny_run: ll.Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "run"
    tiny_run.save(path)
    return path


@pytest.fixture
def run_dir(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the saved tiny run, free to damage."""
    path = tmp_path / "run"
    shutil.copytree(pristine, path)
    return path
