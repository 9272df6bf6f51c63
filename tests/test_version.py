"""The version is written once, in the package metadata (``pyproject.toml``)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import linlens_widgets
from linlens_widgets import version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_version_comes_from_the_package_metadata() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1)
    assert linlens_widgets.__version__ == importlib.metadata.version("linlens-widgets")
    assert linlens_widgets.__version__ == declared


def test_an_uninstalled_source_tree_still_has_a_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert version.package_version() == "0+unknown"
