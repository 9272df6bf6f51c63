"""The offline-page check used by the export tests must catch remote scripts and stylesheets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "tag",
    [
        '<script src="https://cdn.bokeh.org/bokeh.js"></script>',
        "<link rel=stylesheet href='http://example.org/a.css'>",
        '<script type="module" src="//cdn.example.com/x.js"></script>',
    ],
)
def test_remote_resources_are_caught(
    tmp_path: Path, assert_offline_html: Callable[[Path], str], tag: str
) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"<html><head>{tag}</head></html>")
    with pytest.raises(AssertionError):
        assert_offline_html(page)


def test_inline_scripts_and_plain_links_pass(
    tmp_path: Path, assert_offline_html: Callable[[Path], str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<html><script>var u = "https://bokeh.org";</script><a href="https://x.org">x</a></html>'
    )
    assert "bokeh.org" in assert_offline_html(page)
