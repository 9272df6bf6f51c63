"""The HTML pages the command line writes: where they may go, and the explorer page itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from linlens_widgets.cli.errors import CommandError
from linlens_widgets.cli.terminal import say

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run


def writable_page(page: Path) -> Path:
    """Check that ``page`` names a file (not a folder) and create its parent folder.

    Called before any long work, so a bad target is one error and nothing is computed in vain.
    """
    from linlens_widgets.runs.atomic_write import check_output_target

    page = page.expanduser()
    if page.is_dir():
        raise CommandError(f"{page} is a folder; give a file name such as {page / 'page.html'}")
    try:
        check_output_target(page)  # no device, FIFO or socket; no file where a folder should be
    except OSError as exc:
        raise CommandError(str(exc)) from None
    page.parent.mkdir(parents=True, exist_ok=True)
    return page


def save_explorer(run: Run, page: Path, precision: str = "auto") -> Path:
    """Write the kernel-free explorer page for ``run`` and return its path."""
    from linlens_widgets.widgets.explorer import LensExplorer

    page = writable_page(page)
    LensExplorer(run).save_html(page, precision=precision)
    say(f"wrote {page} (open it in a browser; no server needed)")
    return page
