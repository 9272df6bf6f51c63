"""What the ``linlens`` command prints: progress lines on stderr, and names made safe to print.

Run folders are data: a dataset, class or metric name read from a manifest must not move the
cursor, clear the terminal, set its title or reorder the line when printed, so every such name
goes through :func:`printable`.
"""

from __future__ import annotations

import sys
import unicodedata

PROG = "linlens"
"""The command's name, which starts every line it prints on stderr."""

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    r"""Return ``text`` with control and direction-changing characters written as escapes.

    Run folders are data: a dataset, class or metric name from a manifest must not move the
    cursor, clear the terminal, set its title or reorder the line when printed.

    >>> printable("a\x1b[2Jb\u202e")
    'a\\x1b[2Jb\\u202e'
    """
    return "".join(_escape(c) if _is_control(c) else c for c in text)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def say(message: str) -> None:
    """Report progress on stderr, so stdout stays clean for ``info``."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
