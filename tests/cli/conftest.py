"""Fixtures of the CLI, plots and notebook tests (shared helpers live in ``tests.helpers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import offline


@pytest.fixture
def assert_offline_html() -> Callable[[Path], str]:
    """Check that a written page exists, is HTML, and loads nothing from the network."""
    return offline.assert_offline_html


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private linlens cache (LINLENS_CACHE_DIR) for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("LINLENS_CACHE_DIR", str(path))
    return path
