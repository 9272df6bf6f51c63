"""One palette source: every colour set is declared in contract.json ``palettes`` only.

The consumers (the front end, ``ll.plots`` and its report, the sweep page, the notebooks' static
figures) read the contract; a second list of colours anywhere in the package, the front end or a
notebook's code fails here, and each consumer's output is compared with the contract.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
from bokeh.models import GlyphRenderer

from linlens_widgets import plots
from linlens_widgets.widgets import palettes
from linlens_widgets.widgets.contract import CONTRACT

REPO = Path(__file__).resolve().parents[2]
HEX = re.compile(r"""["']#[0-9a-fA-F]{6}["']""")
#: A bracketed literal (JS array, Python list/tuple) holding three or more hex colours.
JS_LIST = re.compile(r"\[[^\[\]]*\]", re.S)
#: Ready-made palettes that would be a second colour set (Bokeh's, matplotlib's tab10...).
FOREIGN = re.compile(r"bokeh\.palettes|Category10|Category20|RdBu\d|Tableau10|tab10|tab20")


def _python_lists(source: str) -> list[int]:
    """Line numbers of list/tuple/set literals in ``source`` holding three or more hex colours."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            hexes = [
                e
                for e in node.elts
                if isinstance(e, ast.Constant)
                and isinstance(e.value, str)
                and re.fullmatch(r"#[0-9a-fA-F]{6}", e.value)
            ]
            if len(hexes) >= 3:
                lines.append(node.lineno)
    return lines


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_no_colour_list_outside_the_contract() -> None:
    found = []
    for path in sorted((REPO / "linlens_widgets").rglob("*.py")):
        found += [f"{path.relative_to(REPO)}:{n}" for n in _python_lists(path.read_text())]
        if FOREIGN.search(path.read_text()):
            found.append(f"{path.relative_to(REPO)}: a ready-made palette")
    for path in sorted((REPO / "js" / "src").rglob("*.js")):
        text = path.read_text()
        for m in JS_LIST.finditer(text):
            if len(HEX.findall(m.group(0))) >= 3:
                found.append(f"{path.relative_to(REPO)}:{text[: m.start()].count(chr(10)) + 1}")
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        code = _notebook_code(path)
        if FOREIGN.search(code):
            found.append(f"{path.relative_to(REPO)}: a ready-made palette")
        found += [f"{path.relative_to(REPO)}: cell line {n}" for n in _python_lists(code)]
    assert not found, f"colour lists outside contract.json palettes: {found}"


def test_the_scan_finds_a_second_palette() -> None:
    assert _python_lists('X = ("#1f77b4", "#ff7f0e", "#2ca02c")\n') == [1]
    assert FOREIGN.search("from bokeh.palettes import Category10_10")
    js = 'const P = ["#1f77b4", "#ff7f0e",\n "#2ca02c"];'
    assert any(len(HEX.findall(m.group(0))) >= 3 for m in JS_LIST.finditer(js))


def test_python_consumers_draw_the_contracts_colours() -> None:
    classes = CONTRACT["palettes"]["classes"]
    assert palettes.class_colors(3) == classes[:3]
    assert palettes.class_color(len(classes) + 1) == classes[1]
    assert tuple(CONTRACT["palettes"]["diverging"]) == plots.DIVERGING_PALETTE
    assert palettes.sequential_color(0.5) == CONTRACT["palettes"]["sequential"][5]
    names = ["a", "b", "c"]
    labels = np.array([0, 1, 2, 2])
    fig = plots.embedding_figure(np.zeros((4, 2)), labels, names)
    drawn = {
        r.data_source.data["label"][0]: r.glyph.fill_color
        for r in fig.renderers
        if isinstance(r, GlyphRenderer) and len(r.data_source.data["label"])
    }
    assert drawn == dict(zip(names, classes[:3], strict=True))
