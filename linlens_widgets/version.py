"""The package's version, read once from its installed metadata (the one place it is written).

A layer-0 module, like :mod:`linlens_widgets.progress`: the run store writes the version into each
manifest and sub-cluster tracking into its cache key without importing the package's public face
(``linlens_widgets/__init__.py``), which stands above every layer.

>>> from linlens_widgets.version import __version__
>>> isinstance(__version__, str)
True
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["__version__", "package_version"]


def package_version() -> str:
    """Return the installed package's version; ``"0+unknown"`` for a source tree not installed."""
    try:
        return importlib.metadata.version("linlens-widgets")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = package_version()
