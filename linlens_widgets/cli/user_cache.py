"""The user cache directory, where ``linlens demo`` keeps its trained run between sessions.

The demo should cost minutes once and seconds afterwards, with no configuration, so its run lives
in the platform's user cache directory (``platformdirs``), under a key derived from every parameter
that shapes the run plus the package version: a changed parameter or a new release trains afresh,
while an unchanged one reuses the saved run. ``LINLENS_CACHE_DIR`` moves the whole cache elsewhere
(tests, shared machines, read-only homes).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from linlens_widgets.version import __version__

CACHE_ENV_VAR = "LINLENS_CACHE_DIR"
"""Environment variable that overrides the cache location."""

_APP_NAME = "linlens-widgets"


def user_cache_dir() -> Path:
    """Return the root of the linlens user cache directory, creating nothing.

    Returns
    -------
    Path
        ``$LINLENS_CACHE_DIR`` when set and non-empty, otherwise the platform's user cache
        directory for ``linlens-widgets`` (e.g. ``~/.cache/linlens-widgets`` on Linux).

    >>> user_cache_dir().name  # doctest: +SKIP
    'linlens-widgets'
    """
    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_cache_dir(_APP_NAME, appauthor=False))


def cache_key(params: Mapping[str, Any], *, version: str = __version__) -> str:
    """Return a short, stable key for ``params`` and the package version.

    Parameters
    ----------
    params : mapping
        JSON-serialisable parameters that fully determine the cached artefact.
    version : str, optional
        Package version mixed into the key (default: the installed version), so a new release
        never reuses a run written by an older one.

    Returns
    -------
    str
        16 hexadecimal characters of a SHA-256 over the canonical JSON of ``params`` + version.

    >>> cache_key({"epochs": 20}) == cache_key({"epochs": 20})
    True
    >>> cache_key({"epochs": 20}) == cache_key({"epochs": 21})
    False
    """
    canonical = json.dumps({"params": dict(params), "version": version}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def entry_dir(kind: str, params: Mapping[str, Any]) -> Path:
    """Return the cache folder for one artefact of ``kind`` (e.g. ``"demo"``) with ``params``.

    Parameters
    ----------
    kind : str
        A short name that groups entries (the folder name prefix).
    params : mapping
        Parameters passed to :func:`cache_key`.

    Returns
    -------
    Path
        ``user_cache_dir() / f"{kind}-{key}"``; the folder may not exist yet.

    >>> entry_dir("demo", {"epochs": 20}).name.startswith("demo-")
    True
    """
    return user_cache_dir() / f"{kind}-{cache_key(params)}"
