"""Where the built front end lives (``static/``, produced by ``cd js && npm run build``).

A source checkout without a build still imports: the widget then renders a message that names
the missing file and the command that builds it, instead of a blank cell.
"""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).parent / "static"
BUILD_HINT = "cd js && npm install && npm run build"


class FrontEndMissingError(FileNotFoundError):
    """The JavaScript bundle was not built (a source checkout without ``npm run build``)."""


def bundle_path(name: str) -> Path:
    """Path of a built bundle file, e.g. ``bundle_path("page.js")``.

    Raises
    ------
    FrontEndMissingError
        Naming the missing file and the command that builds it.
    """
    path = STATIC / name
    if not path.is_file():
        raise FrontEndMissingError(
            f"front-end bundle {path} is missing; build it with `{BUILD_HINT}` "
            "(wheels and `uv sync` build it automatically)"
        )
    return path


def bundle(name: str) -> Path | str:
    """Return the module for anywidget's ``_esm``: the built file, or a stub showing an error."""
    path = STATIC / name
    if path.is_file():
        return path
    message = json.dumps(f"linlens front end not built: {path} is missing. Run `{BUILD_HINT}`.")
    return (
        "export default { render({ el }) {"
        " const d = document.createElement('div'); d.className = 'linlens-error';"
        f" d.textContent = {message}; el.append(d); return () => d.remove(); }} }};"
    )
