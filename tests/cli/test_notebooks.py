"""Every notebook in notebooks/ runs top to bottom on the offline digits default, in CI time.

Notebooks are committed without outputs; each runs in a fresh kernel whose working folder is a
temporary one (files a notebook writes, such as a saved explorer page, land there and are cleaned
up) with ``LINLENS_MNIST`` unset, so the paper notebook takes its digits path.

An executed notebook is what a student sees: it shows no warning (nothing on stderr, no warning
text in what the outputs show) and keeps no progress bar. "What the outputs show" is their text:
streams, ``text/plain`` and ``text/markdown``; the inlined BokehJS library in the script and HTML
outputs is code that mentions ``console.warn`` and is not shown.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from linlens_widgets.cli.demo import DEMO_PARAMS, demo_run
from linlens_widgets.cli.demo_notebook import (
    DEMO_NOTEBOOK,
    execute_demo_notebook,
    write_demo_notebook,
)

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
BUDGET_S = 120.0  # each notebook must run in well under two minutes on the 2-core CI box
# BokehJS's loader lists the scripts and stylesheets it fetches; INLINE resources leave both empty
# (the inlined bundle itself mentions optional CDN add-ons such as MathJax, which are never loaded).
BOKEH_FETCHES = re.compile(r"(?:js|css)_urls = \[([^\]]*)\]")


def execute(notebook: nbformat.NotebookNode, workdir: Path) -> float:
    """Run ``notebook`` in place in a fresh python3 kernel; return the wall time in seconds."""
    client = NotebookClient(
        notebook,
        timeout=int(BUDGET_S),
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def output_text(notebook: nbformat.NotebookNode) -> str:
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return "\n".join(str(output) for cell in cells for output in cell.outputs)


SHOWN_TYPES = ("text/plain", "text/markdown")
WARNING_TEXT = re.compile(r"warn", re.IGNORECASE)  # "Warning", "UserWarning", "warnings.warn"
PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's "  0%|", " 42%|", "100%|"


def shown_outputs(notebook: nbformat.NotebookNode) -> list[tuple[int, str, str]]:
    """Return ``(cell index, kind, text)`` of every output as a reader sees it (see the module)."""
    shown = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            kind = output.get("output_type")
            if kind == "stream":
                shown.append((index, f"stream {output.get('name')}", str(output.get("text", ""))))
            elif kind == "error":
                shown.append((index, "error", f"{output.get('ename')}: {output.get('evalue')}"))
            else:
                data = output.get("data", {})
                shown += [(index, mime, str(data[mime])) for mime in SHOWN_TYPES if mime in data]
    return shown


def assert_clean(notebook: nbformat.NotebookNode, name: str) -> None:
    """No stderr output, no warning text and no progress bar among the shown outputs."""
    shown = shown_outputs(notebook)
    stderr = [(i, text[:300]) for i, kind, text in shown if kind == "stream stderr"]
    assert stderr == [], f"{name}: output on stderr: {stderr}"
    warned = [(i, text[:300]) for i, _, text in shown if WARNING_TEXT.search(text)]
    assert warned == [], f"{name}: warning text in the outputs: {warned}"
    bars = [(i, text[:120]) for i, _, text in shown if PROGRESS_BAR.search(text)]
    assert bars == [], f"{name}: progress bars left in the outputs: {bars}"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working folder and cache, no MNIST or CIFAR-10 folder: the offline defaults."""
    monkeypatch.delenv("LINLENS_MNIST", raising=False)
    monkeypatch.delenv("LINLENS_FASHION_MNIST", raising=False)
    monkeypatch.delenv("LINLENS_CIFAR10", raising=False)
    monkeypatch.setenv("LINLENS_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_notebooks_are_found() -> None:
    names = {path.name for path in NOTEBOOKS}
    assert {"quickstart.ipynb", "linear_lens.ipynb", "lecture.ipynb"} <= names
    assert "beyond_the_paper.ipynb" in names
    assert "sweeps.ipynb" in names
    assert "your_data.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, clean_env: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    elapsed = execute(notebook, clean_env)
    print(f"{path.name}: {elapsed:.1f} s")
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.0f} s"
    text = output_text(notebook)
    assert "Traceback" not in text
    assert "cdn.bokeh.org" not in text, f"{path.name} loads BokehJS from the CDN"
    fetched = [urls for urls in BOKEH_FETCHES.findall(text) if urls.strip()]
    assert fetched == [], f"{path.name}: Bokeh output fetches {fetched}"
    assert_clean(notebook, path.name)


@pytest.mark.slow
def test_demo_notebook_executes(clean_env: Path) -> None:
    """The notebook `linlens demo` writes runs against the cached run it points at."""
    params = {**DEMO_PARAMS, "epochs": 2, "hidden": [16, 16], "checkpoints": 3, "probe": 120}
    entry = clean_env / "demo"
    demo_run(entry, params)
    notebook_path = write_demo_notebook(entry / DEMO_NOTEBOOK, entry / "run")
    notebook = nbformat.read(notebook_path, as_version=4)
    execute(notebook, entry)
    text = output_text(notebook)
    assert "Traceback" not in text
    assert "application/vnd.jupyter.widget-view+json" in text  # the explorer was displayed
    assert_clean(notebook, "the demo notebook")


@pytest.mark.slow
def test_demo_notebook_is_run_ahead_with_its_widget_state(clean_env: Path) -> None:
    """`linlens demo` saves the explorer's widget state, so Lab draws it before any re-run."""
    params = {**DEMO_PARAMS, "epochs": 2, "hidden": [16, 16], "checkpoints": 3, "probe": 120}
    entry = clean_env / "demo"
    demo_run(entry, params)
    path = write_demo_notebook(entry / DEMO_NOTEBOOK, entry / "run")
    assert execute_demo_notebook(path)
    notebook = nbformat.read(path, as_version=4)
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert "AnyModel" in {m["model_name"] for m in state.values()}
    assert any("linlens" in str(m["state"].get("_esm", "")) for m in state.values())
    text = output_text(notebook)
    assert "Traceback" not in text
    shown = [
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    ]
    assert not any(re.search(r"\d+%\|", t) for t in shown)  # no leftover progress bars
    # a notebook with outputs (perhaps edited by the user) is not run again
    assert not execute_demo_notebook(path)


def test_the_checks_find_warnings_stderr_and_leftover_bars() -> None:
    """The notebook checks catch what they are for (outputs as nbclient records them)."""
    from nbformat import v4

    def notebook_with(*outputs: dict) -> nbformat.NotebookNode:
        cell = v4.new_code_cell("pass")
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        return v4.new_notebook(cells=[cell])

    warning = {
        "output_type": "stream",
        "name": "stderr",
        "text": "x.py:3: DeprecationWarning: old\n",
    }
    bar = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/plain": "training:   0%|          | 0/330 [00:00<?, ?step/s]"},
    }
    printed = {"output_type": "stream", "name": "stdout", "text": "UserWarning: converting\n"}
    bokeh = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/javascript": "logger.warn('x')", "text/html": "<div></div>"},
    }
    emptied = {"output_type": "display_data", "metadata": {}, "data": {}}
    for bad, message in ((warning, "stderr"), (bar, "progress bars"), (printed, "warning text")):
        with pytest.raises(AssertionError, match=message):
            assert_clean(notebook_with(bad), "nb")
    assert_clean(notebook_with(bokeh, emptied), "nb")  # library code and emptied bars are fine


@pytest.mark.slow
def test_a_progress_bar_in_a_notebook_leaves_nothing_behind(clean_env: Path) -> None:
    """The package's bars (tqdm.auto in a kernel: ipywidgets) are emptied from the output."""
    from nbformat import v4

    source = (
        "from linlens_widgets.progress import tqdm\n"
        "for _ in tqdm(range(3), desc='kept'): pass\n"
        "for _ in tqdm(range(3), desc='gone', leave=False): pass\n"
        "print('done')"
    )
    notebook = v4.new_notebook(
        cells=[v4.new_code_cell(source)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    execute(notebook, clean_env)
    outputs = notebook.cells[0].outputs
    assert [o.get("text") for o in outputs if o.output_type == "stream"] == ["done\n"]
    assert all(o.get("data") == {} for o in outputs if o.output_type == "display_data")
    assert_clean(notebook, "progress")
