"""Run folders named on the command line: one to read, or one ``train`` is about to write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from linlens_widgets.cli.errors import CommandError

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run


def load_run(path: Path) -> Run:
    """Load the run folder ``path``; a missing or unreadable one is one error naming it."""
    path = path.expanduser()
    if not path.exists():
        raise CommandError(f"no run folder at {path}")
    from linlens_widgets.runs.store import Run, RunFormatError

    try:
        return Run.load(path)
    except RunFormatError as exc:
        raise CommandError(f"{path} is not a readable run folder: {exc}") from None


def check_out(out: Path, *, overwrite: bool) -> None:
    """Find every problem with ``--out`` before training: exists, not replaceable, unwritable."""
    from linlens_widgets.runs.store import check_replaceable

    if out.exists() or out.is_symlink():
        if not overwrite:
            raise CommandError(f"{out} already exists; pass --overwrite to replace it")
        try:
            check_replaceable(out.absolute())
        except FileExistsError as exc:
            raise CommandError(f"--out {exc}") from None
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CommandError(f"--out {out}: {parent} is a file, not a folder; choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: cannot write in {parent}; choose a writable folder")
