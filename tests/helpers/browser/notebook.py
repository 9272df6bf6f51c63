"""Drive a notebook in a real JupyterLab page the way a user does: click a cell, Shift+Enter, read.

Cells are appended through the app object Lab exposes (``--LabApp.expose_app_in_browser``), so
code is never typed key by key (no auto-closed brackets, no completer pop-ups); running them is a
real click on the cell's editor and a real Shift+Enter. Values come back from the kernel as JSON
printed between sentinels and read from the output area's text.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Locator, Page

SENTINEL = "@@linlens-json@@"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PROMPT_DONE = re.compile(r"^\[\d+\]:$")

# JS run in the page; `window.jupyterapp` is the JupyterLab application.
_JS_KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(ctx && ctx.isReady && kernel && kernel.status === 'idle');
}"""
_JS_KERNEL_BUSY = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!(kernel && kernel.status === 'busy');
}"""
_JS_COLLAPSE_SIDEBARS = """() => {
  window.jupyterapp.shell.collapseLeft();
  window.jupyterapp.shell.collapseRight();
}"""
_JS_APPEND_CELL = """(source) => {
  const shared = window.jupyterapp.shell.currentWidget.content.model.sharedModel;
  shared.insertCell(shared.cells.length, {cell_type: 'code', source});
  return shared.cells.length - 1;
}"""
_JS_OUTPUTS = """(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  return cell.model.outputs.toJSON();
}"""


class CellError(AssertionError):
    """A cell raised in the kernel; the message carries the exception and its traceback."""


@dataclass(frozen=True)
class CellResult:
    """A cell after it ran: its locator (to find widgets in it), index and output text."""

    cell: Locator
    index: int
    text: str


def write_notebook(path: Path, cells: list[str]) -> None:
    """Write a Python 3 notebook with these code cells (no outputs) to ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


def json_expr_code(expr: str) -> str:
    """Code that prints ``expr`` as JSON between sentinels (numpy values become lists)."""
    return (
        "import json as _ll_json\n"
        f"print({SENTINEL!r} + _ll_json.dumps({expr}, default=lambda o: o.tolist()) + {SENTINEL!r})"
    )


def parse_json_output(text: str) -> Any:
    """Read back the value a ``json_expr_code`` cell printed; raise if it is not there."""
    match = re.search(re.escape(SENTINEL) + r"(.*?)" + re.escape(SENTINEL), text, re.DOTALL)
    if match is None:
        raise AssertionError(f"no JSON value between sentinels in the cell's output: {text!r}")
    return json.loads(match.group(1))


class LabNotebook:
    """One open notebook in a JupyterLab page, with its kernel."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    # -- opening and kernel state -------------------------------------------------------------
    def open(self, timeout_s: float = 90.0) -> None:
        """Open the notebook in a fresh workspace and wait for a ready, idle kernel."""
        self.page.goto(self.url, wait_until="domcontentloaded")
        self.page.wait_for_selector(
            ".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout_s * 1000
        )
        self.page.evaluate(_JS_COLLAPSE_SIDEBARS)
        self.wait_kernel_idle(timeout_s)

    def wait_kernel_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until the notebook's kernel is started and idle."""
        self.page.wait_for_function(_JS_KERNEL_IDLE, timeout=timeout_s * 1000, polling=100)

    def wait_kernel_busy(self, timeout_s: float = 10.0) -> None:
        """Wait until the notebook's kernel runs something (a cell just started)."""
        self.page.wait_for_function(_JS_KERNEL_BUSY, timeout=timeout_s * 1000, polling=50)

    # -- cells --------------------------------------------------------------------------------
    def cell(self, index: int) -> Locator:
        """The ``index``-th cell of the notebook."""
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)

    def append_cell(self, source: str) -> int:
        """Append a code cell holding ``source``; return its index."""
        index = int(self.page.evaluate(_JS_APPEND_CELL, source))
        self.cell(index).wait_for(state="attached")
        return index

    def run_cell(self, index: int, timeout_s: float = 60.0) -> CellResult:
        """Click the cell's editor, press Shift+Enter and wait for it to finish.

        Raises
        ------
        CellError
            If the cell raised; the message holds the exception and traceback.
        """
        cell = self.cell(index)
        prompt = cell.locator(".jp-InputPrompt").first
        before = prompt.inner_text().strip()
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor .cm-content").click()
        self.page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + timeout_s
        while True:
            now = prompt.inner_text().strip()
            if _PROMPT_DONE.match(now) and now != before:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"cell {index} did not finish within {timeout_s:.0f} s (prompt {now!r})"
                )
            self.page.wait_for_timeout(50)
        self.wait_kernel_idle(timeout_s)
        self._raise_on_error(index)
        text = "\n".join(cell.locator(".jp-OutputArea-output").all_inner_texts())
        return CellResult(cell=cell, index=index, text=text)

    def run(self, source: str, timeout_s: float = 60.0) -> CellResult:
        """Append a cell with ``source``, run it, and return its result."""
        return self.run_cell(self.append_cell(source), timeout_s)

    def eval_json(self, expr: str, timeout_s: float = 30.0) -> Any:
        """Evaluate the Python expression ``expr`` in the kernel and return its JSON value."""
        return parse_json_output(self.run(json_expr_code(expr), timeout_s).text)

    def _raise_on_error(self, index: int) -> None:
        """Raise ``CellError`` if the cell's outputs hold an error."""
        for output in self.page.evaluate(_JS_OUTPUTS, index):
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
                raise CellError(
                    f"cell {index} raised {output.get('ename')}: {output.get('evalue')}\n{trace}"
                )
