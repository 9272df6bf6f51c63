"""Progress bars that leave nothing behind: ``tqdm.auto``, with notebook bars that vanish when done.

Every long step of the package shows its progress with :data:`tqdm` from here. In a terminal it is
``tqdm.auto.tqdm`` itself. In a Jupyter kernel ``tqdm.auto`` draws an ipywidgets bar as a display
output; closing it (even with ``leave=False``) leaves that output in the notebook, whose text
form is the bar as it was first drawn ("0%|"), so an executed and saved notebook keeps bars frozen
at 0 %. The notebook bar here is displayed under a display id and its output is emptied when the
bar closes: in a live session the bar disappears when done, and a saved notebook keeps no bar.

>>> from linlens_widgets.progress import tqdm
>>> sum(tqdm(range(3), disable=True))
3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm as _auto_tqdm
from tqdm.std import tqdm as _std_tqdm

__all__ = ["Progress", "ProgressHook", "report", "tqdm"]

ProgressHook = Callable[[str, int, int], None]
"""A callback told ``(what, done, total)`` after each step, where a bar cannot be shown (the
explorer's analyses computed in the background report to a bar inside the explorer)."""

Progress = bool | ProgressHook
"""How a long step shows its progress: a :data:`tqdm` bar (True), nothing (False), or a hook."""


def _notebook_bar_class(base: type) -> type:
    """Return a notebook ``tqdm`` whose display output is emptied when the bar closes."""

    class NotebookBar(base):  # type: ignore[valid-type, misc]
        """An ipywidgets ``tqdm`` shown under a display id, removed from the output on close."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["display"] = False
            super().__init__(*args, **kwargs)
            self._handle: Any = None
            if not self.disable:
                from IPython.display import display

                self._handle = display(self.container, display_id=True)
                self.displayed = True

        def close(self) -> None:
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None:
                handle.update({}, raw=True)  # the output holds nothing: no bar left behind
                self.container.close()

    return NotebookBar


def _is_notebook_bar(cls: type) -> bool:
    """Whether ``tqdm.auto`` chose the ipywidgets bar (it does so inside a Jupyter kernel)."""
    return any(base.__module__ == "tqdm.notebook" for base in cls.__mro__ if base is not _std_tqdm)


tqdm: Any = _notebook_bar_class(_auto_tqdm) if _is_notebook_bar(_auto_tqdm) else _auto_tqdm
"""``tqdm.auto.tqdm``; in a Jupyter kernel, a notebook bar that vanishes when it closes."""


def report(progress: Progress, what: str, done: int, total: int) -> None:
    """Tell a :data:`ProgressHook` that ``done`` of ``total`` steps of ``what`` are finished.

    >>> report(lambda *a: print(*a), "agreement", 1, 20)
    agreement 1 20
    >>> report(True, "agreement", 1, 20)  # a bar counts by itself; nothing to tell
    """
    if callable(progress):
        progress(what, done, total)
