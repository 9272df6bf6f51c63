"""The package's import graph: no cycles, dependencies point one way, no private names shared.

Layers, lowest first: ``lens`` → ``runs`` → ``analysis`` → ``plots`` / ``widgets`` → ``cli``. A
module imports only from its own layer and the layers below it; this holds for imports inside
functions too (a lazy import is still a dependency). Imports form no cycle, those inside
functions included: a lazy import only postpones a circle, it does not remove it.
A module never imports a ``_private`` name (function, class, constant) of another module, nor
reads one as an attribute of a module it imported (``metrics._ward``), and imports a ``_private``
module (or a name from it) only from inside its own subpackage. There are no exceptions.

The graph is read from the source with :mod:`ast`; nothing is imported to build it. Imports under
``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import linlens_widgets

PACKAGE = "linlens_widgets"
ROOT = Path(linlens_widgets.__file__).resolve().parent

#: Layer of each top-level part; a module may import from layers with a number <= its own
#: (plots and widgets share a number but do not depend on the command line).
LAYERS = {
    "lens": 0,
    "runs": 1,
    "analysis": 2,
    "plots": 3,
    "widgets": 3,
    "sweeps": 3,
    # progress bars (tqdm.auto that leaves nothing behind in a notebook): used by every layer
    "progress": 0,
    # the package's version (from its metadata): written into manifests and cache keys
    "version": 0,
    "cli": 4,
}


@dataclass(frozen=True)
class Import:
    """One import statement's target as seen from the importing module."""

    importer: str
    target: str  # the module imported (for ``from m import name``: ``m.name`` if a module, else m)
    name: str | None  # the name taken by ``from m import name`` when it is not a module
    module_level: bool
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(importer: str) -> list[Import]:
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit(stmt, module_level)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        found.append(Import(importer, alias.name, None, module_level, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                source = _resolve(importer, child)
                if source.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in MODULES:
                        found.append(Import(importer, submodule, None, module_level, child.lineno))
                    else:
                        found.append(
                            Import(importer, source, alias.name, module_level, child.lineno)
                        )
            inner = module_level and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            visit(child, inner)

    visit(tree, True)
    return found


ALL_IMPORTS = [imp for name in MODULES for imp in imports_of(name)]


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_the_graph_is_read_from_the_real_package() -> None:
    assert "linlens_widgets.runs.store" in MODULES and "linlens_widgets.cli" in MODULES
    targets = {(i.importer, i.target) for i in ALL_IMPORTS}
    assert ("linlens_widgets.analysis.embed", "linlens_widgets.analysis.trajectory") in targets
    assert ("linlens_widgets.cli.pages", "linlens_widgets.widgets.explorer") in targets  # lazy one
    assert all(i.target in MODULES for i in ALL_IMPORTS), "an import names no package module"


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Return the cycles among package modules that ``imports`` draw (one per tangle)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in imports:
        if imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    a, b = "linlens_widgets.analysis.metrics", "linlens_widgets.analysis.clustering"
    loop = [Import(a, b, None, False, 1), Import(b, a, None, False, 1)]
    assert import_cycles(loop) == [sorted([a, b])]


def test_the_package_has_no_import_cycle() -> None:
    """No cycle among all imports of the package, inside functions too (annotations excepted)."""
    cycles = import_cycles(ALL_IMPORTS)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_a_function_level_import_that_closes_a_circle_is_a_cycle(
    tmp_path: Path, monkeypatch
) -> None:
    """``a`` imports ``b`` at module level, ``b`` imports ``a`` inside a function: one circle."""
    a, b = "linlens_widgets.probe_a", "linlens_widgets.probe_b"
    (tmp_path / "probe_a.py").write_text("from linlens_widgets import probe_b\n")
    (tmp_path / "probe_b.py").write_text(
        "def late():\n    from linlens_widgets.probe_a import thing\n\n    return thing\n"
    )
    monkeypatch.setitem(MODULES, a, tmp_path / "probe_a.py")
    monkeypatch.setitem(MODULES, b, tmp_path / "probe_b.py")
    imports = imports_of(a) + imports_of(b)
    assert [(i.importer, i.target, i.module_level) for i in imports] == [
        (a, b, True),
        (b, a, False),
    ]
    assert import_cycles(imports) == [sorted([a, b])]


def test_dependencies_point_one_way() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        src, dst = layer(imp.importer), layer(imp.target)
        if src is None or dst is None or dst <= src:
            continue
        wrong.append(f"{imp.importer}:{imp.line} imports {imp.target}")
    # plots and widgets share a level but neither imports the command line, and lens imports
    # nothing of the package but lens
    for imp in ALL_IMPORTS:
        parts = imp.importer.split("."), imp.target.split(".")
        if parts[0][1:2] == ["lens"] and parts[1][1:2] not in (["lens"], []):
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(set(wrong)))


def _subpackage(module: str) -> str:
    target_path = MODULES[module]
    parent = module if target_path.name == "__init__.py" else module.rpartition(".")[0]
    return parent


def test_no_private_names_cross_modules() -> None:
    found = set()
    for imp in ALL_IMPORTS:
        if imp.name is not None and imp.name.startswith("_") and not imp.name.startswith("__"):
            found.add((imp.importer, imp.target, imp.name))
        private_module = imp.target.rpartition(".")[2].startswith("_")
        if private_module and _subpackage(imp.target) != _subpackage(imp.importer):
            found.add((imp.importer, imp.target, "<private module>"))
    unexpected = sorted(found)
    assert not unexpected, "private names imported across modules:\n" + "\n".join(
        f"{a} takes {n} from {b}" for a, b, n in unexpected
    )


def module_aliases(importer: str) -> dict[str, str]:
    """Names under which ``importer`` binds package modules (``from pkg import mod``, ``as``)."""
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES and alias.asname:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(importer, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bound


def private_attribute_reads(importer: str) -> list[str]:
    """``module._name`` reads in ``importer`` where ``module`` is another package module."""
    bound = module_aliases(importer)
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    return [
        f"{importer}:{node.lineno} reads {bound[node.value.id]}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and bound[node.value.id] != importer
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]


def test_no_private_attributes_read_across_modules() -> None:
    wrong = [line for name in MODULES for line in private_attribute_reads(name)]
    assert not wrong, "private names read across modules:\n" + "\n".join(sorted(wrong))


def test_the_attribute_check_sees_a_private_read(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "probe.py"
    fake.write_text("from linlens_widgets.analysis import clustering\nclustering._mean_row\n")
    monkeypatch.setitem(MODULES, "linlens_widgets.probe", fake)
    assert private_attribute_reads("linlens_widgets.probe") == [
        "linlens_widgets.probe:2 reads linlens_widgets.analysis.clustering._mean_row"
    ]


def tqdm_imports(importer: str) -> list[str]:
    """Lines of ``importer`` that import ``tqdm`` itself rather than the package's bars."""
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "tqdm" for name in names):
            found.append(f"{importer}:{node.lineno}")
    return found


def test_every_progress_bar_comes_from_the_progress_module() -> None:
    """Bars come from ``linlens_widgets.progress``, whose notebook bars leave nothing behind.

    ``tqdm.auto`` used directly leaves a bar frozen at "0%|" in a saved notebook.
    """
    wrong = [
        line for name in MODULES if name != f"{PACKAGE}.progress" for line in tqdm_imports(name)
    ]
    assert not wrong, "tqdm imported directly (use linlens_widgets.progress):\n" + "\n".join(wrong)
