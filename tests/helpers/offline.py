"""Checks that a written HTML page works offline: no script or stylesheet from the network."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from linlens_widgets.widgets import _page

# a <script src=...> or <link href=...> that points at the network
_REMOTE_RESOURCE = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE
)


def remote_resources(html: str) -> list[str]:
    """Return the tags of ``html`` that load a script or stylesheet over the network."""
    return [m.group(0) for m in _REMOTE_RESOURCE.finditer(html)]


def assert_offline_html(path: Path) -> str:
    """Assert that ``path`` is an HTML page that loads nothing from the network; return its text."""
    assert path.is_file(), f"{path} was not written"
    html = path.read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert remote_resources(html) == []
    return html


def page_config(html: str) -> dict[str, Any]:
    """The JSON configuration a saved linlens page mounts its widgets from: its state script and
    its data script (the network, a sweep's run pair or the bank), merged."""
    return _page.page_config(html)
