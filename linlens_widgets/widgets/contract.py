"""The widget contract (``contract.json``), loaded once for the Python side.

``contract.json`` names every synced trait of every widget (type, shape, units, direction), the
explorer's linking rules, the custom messages and the playback speeds. The front end imports the
same file (``js/src/contract.js``), so both sides read one definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CONTRACT", "MESSAGES", "SPEEDS", "message"]

CONTRACT: dict[str, Any] = json.loads(
    (Path(__file__).with_name("contract.json")).read_text(encoding="utf-8")
)
SPEEDS: tuple[float, ...] = tuple(float(v) for v in CONTRACT["speeds"])
"""Playback speed factors the scrubber accepts (1 = two checkpoints a second)."""
MESSAGES: dict[str, Any] = {k: v for k, v in CONTRACT["messages"].items() if k != "about"}


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """Build a custom message of ``kind`` holding exactly the fields the contract names.

    Parameters
    ----------
    kind
        A message type of the contract (e.g. ``"sample"``).
    **fields
        Its fields; ``arrays`` is added by the codec, so it may be left out.

    Returns
    -------
    dict
        ``{"type": kind, **fields}``.

    Raises
    ------
    ValueError
        For an unknown kind, or a field the contract does not name for it.
    """
    spec = MESSAGES.get(kind)
    if spec is None:
        raise ValueError(f"unknown message type {kind!r}; the contract has {sorted(MESSAGES)}")
    extra = set(fields) - set(spec["fields"])
    if extra:
        raise ValueError(f"message {kind!r} has no field(s) {sorted(extra)}")
    return {"type": kind, **fields}
