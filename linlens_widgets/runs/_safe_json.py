"""Parse JSON from a run folder with bounded nesting, so a hostile file fails with a clear error.

The standard parser recurses once per nesting level: a few kilobytes of ``[[[[…`` raise
``RecursionError`` (or exhaust the stack in a deeper call later). Every JSON document a run
folder holds (the manifest, safetensors headers, attachment metadata) is parsed here instead, and
any failure becomes a :class:`RunFormatError` naming the file.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from linlens_widgets.runs._errors import RunFormatError

#: Deepest nesting accepted in any JSON document of a run folder (a manifest needs about 5).
MAX_DEPTH = 64


def loads(text: str | bytes, where: str) -> Any:
    """Parse strict JSON (no NaN/Infinity) of at most :data:`MAX_DEPTH` levels.

    Parameters
    ----------
    text : str or bytes
        The document (bytes are decoded as UTF-8).
    where : str
        The file (and part of it) named in errors, e.g. ``"manifest.json"``.

    Raises
    ------
    RunFormatError
        For invalid UTF-8, invalid or non-standard JSON, or nesting deeper than the limit.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RunFormatError(f"{where} is not UTF-8 text: {err}") from err
    _check_depth(text, where)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as err:
        raise RunFormatError(f"{where} is not valid JSON (truncated or corrupt?): {err}") from err
    except RecursionError as err:  # pragma: no cover - _check_depth refuses these first
        raise RunFormatError(f"{where} nests JSON too deeply") from err


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _check_depth(text: str, where: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH`, in linear time and no recursion.

    Strings are removed first (brackets inside them do not count); the count only needs to be
    right for valid JSON, since anything else is refused by the parser afterwards.
    """
    bare = _STRING.sub("", text).encode("ascii", "ignore")
    codes = np.frombuffer(bare, dtype=np.uint8)
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    if not opens.any():
        return
    depth = np.cumsum(opens.astype(np.int64) - closes.astype(np.int64))
    if int(depth.max()) > MAX_DEPTH:
        raise RunFormatError(
            f"{where} nests JSON deeper than {MAX_DEPTH} levels; it was not written by "
            "linlens_widgets"
        )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
