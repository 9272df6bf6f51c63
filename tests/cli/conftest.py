"""Shared helpers of the CLI, plots and notebook tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

# a <script src=...> or <link href=...> that points at the network
_REMOTE_RESOURCE = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE
)


def remote_resources(html: str) -> list[str]:
    """Return the tags of ``html`` that load a script or stylesheet over the network."""
    return [m.group(0) for m in _REMOTE_RESOURCE.finditer(html)]


@pytest.fixture
def assert_offline_html() -> Callable[[Path], str]:
    """Check that a written page exists, is HTML, and loads nothing from the network."""

    def check(path: Path) -> str:
        assert path.is_file(), f"{path} was not written"
        html = path.read_text(encoding="utf-8")
        assert "<html" in html.lower()
        assert remote_resources(html) == []
        return html

    return check


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private linlens cache (LINLENS_CACHE_DIR) for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("LINLENS_CACHE_DIR", str(path))
    return path
