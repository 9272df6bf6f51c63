"""How the widget modules depend on each other and on other libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import linlens_widgets.widgets as widgets_pkg

PACKAGE = Path(widgets_pkg.__file__).parent
PREFIX = "linlens_widgets.widgets"
# Private attributes of jupyter_bokeh (BokehModel._model) and ipywidgets (Widget._property_lock)
# that the widgets once read; the explorer keeps its own figure and links in the front end now.
FOREIGN_PRIVATE = {"_model", "_property_lock"}


def _modules() -> dict[str, ast.Module]:
    return {
        f"{PREFIX}.{p.stem}" if p.stem != "__init__" else PREFIX: ast.parse(p.read_text("utf-8"))
        for p in PACKAGE.glob("*.py")
    }


def _imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import, including those inside functions."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def test_no_private_name_is_imported_from_another_module():
    # a private *module* of this subpackage (``from linlens_widgets.widgets import _sources``)
    # is fine; a private *name* of another module is not
    modules = _modules()
    bad = []
    for name, tree in modules.items():
        for module, names in _imports(tree):
            if module.startswith("linlens_widgets") and module != name:
                private = [n for n in names if n.startswith("_") and f"{module}.{n}" not in modules]
                bad += [f"{name}: {module}.{n}" for n in private]
    assert bad == []


def test_widget_modules_import_each_other_without_cycles():
    modules = _modules()
    graph = {
        name: {
            m
            for m, names in _imports(tree)
            for m in [m, *(f"{m}.{n}" for n in names)]
            if m in modules and m != name and m != PREFIX
        }
        for name, tree in modules.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join([*path, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    assert f"{PREFIX}.explorer" not in graph[f"{PREFIX}._page"]
    assert f"{PREFIX}.panel" in graph[f"{PREFIX}._page"] & graph[f"{PREFIX}.explorer"]


def test_no_private_attribute_of_another_library_is_read():
    used = {
        f"{name}:{node.lineno} .{node.attr}"
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in FOREIGN_PRIVATE
    }
    assert used == set()
