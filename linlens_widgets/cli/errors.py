"""Errors that are the user's to fix, told apart from bugs, and the one line each prints.

User errors (a missing MNIST folder, an existing ``--out``, a damaged run folder) print
``linlens: error: …`` and exit with status 2, without a traceback; every other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations

import sys


class CommandError(Exception):
    """A problem with what the user asked for; printed as ``linlens: error: …`` (exit 2)."""


def is_user_error(exc: Exception) -> bool:
    """Tell errors that describe the user's input apart from bugs (which keep their traceback).

    Besides :class:`CommandError`, a damaged run folder and file-system errors (a missing,
    existing, unwritable or wrongly typed path) are the user's to fix.
    """
    if isinstance(exc, CommandError | OSError):
        return True
    store = sys.modules.get("linlens_widgets.runs.store")
    return store is not None and isinstance(exc, store.RunFormatError)


def error_text(exc: Exception) -> str:
    """Return ``exc`` as one line: an OS error as ``reason: path``, others with newlines joined."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return " ".join(str(exc).split("\n"))


def first_line(exc: Exception) -> str:
    """Return the first line of ``exc``'s message (its type's name when it has none)."""
    text = str(exc).strip().splitlines()
    return text[0].rstrip(":") if text else type(exc).__name__
