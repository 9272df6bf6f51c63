"""Run work once the notebook cell that displays a widget has finished, in that cell.

What a widget's first frame does not need (BokehJS for a panel drawn later, the comparison's
network payload) is sent from IPython's ``post_execute`` event: after the cell's output has gone
to the browser, still as that cell's output (so a notebook saved or executed headless keeps it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["after_cell"]


def after_cell(work: Callable[[], None]) -> None:
    """Call ``work`` once the running cell has finished; at once outside IPython.

    Parameters
    ----------
    work
        Called with no arguments, once. An exception it raises is shown by IPython under the
        cell, as for any ``post_execute`` callback.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets depends on IPython
        shell = None
    else:
        shell = get_ipython()
    if shell is None:
        work()
        return

    def once(*_: Any) -> None:
        shell.events.unregister("post_execute", once)
        work()

    shell.events.register("post_execute", once)
