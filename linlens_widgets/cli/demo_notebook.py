"""The demo notebook: written once beside the cached run, run once ahead, and trusted.

``linlens demo`` opens JupyterLab on this notebook. Running it before JupyterLab starts saves the
explorer's widget state into the file, so the explorer shows as soon as the notebook opens;
trusting it lets JupyterLab render those saved widget outputs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from linlens_widgets.cli.errors import error_text
from linlens_widgets.cli.terminal import say

DEMO_NOTEBOOK = "quickstart.ipynb"
"""The demo notebook's file name, in the demo run's cache folder."""


def write_demo_notebook(path: Path, run_dir: Path) -> Path:
    """Write the demo notebook that loads ``run_dir`` into the explorer, unless it exists.

    An existing notebook is kept, so edits made in an earlier session survive.

    Parameters
    ----------
    path
        Where the notebook goes (``.ipynb``).
    run_dir
        The saved run the notebook loads.

    Returns
    -------
    Path
        ``path``.

    >>> write_demo_notebook(Path("demo.ipynb"), Path("run"))  # doctest: +SKIP
    PosixPath('demo.ipynb')
    """
    import nbformat
    from nbformat import v4

    if path.exists():
        return path
    cells = [
        v4.new_markdown_cell(
            "# The linear lens, on a trained network\n\n"
            "`linlens demo` trained a ReLU MLP (its layer widths and data set are printed "
            "below, read from the run) and recorded checkpoints along the way. At every "
            "input *x* the network is exactly linear: f(x) = W_eff(x) x. The explorer below "
            "embeds every probe sample's effective weights W_eff(x) with an aligned t-SNE "
            "across the checkpoints.\n\n"
            "- **Brush** points (shift+drag or the lasso button) to select samples.\n"
            "- **Compare** two samples' W_eff images per class, with their cosine.\n"
            "- **Scrub** the checkpoint slider (or press Play) to watch the clusters form."
        ),
        v4.new_code_cell(
            "import linlens_widgets as ll\n\n"
            f"run = ll.Run.load({str(run_dir)!r})\n"
            'spec = run.model_spec["kwargs"]\n'
            'widths = [spec["n_in"], *spec["hidden"], spec["n_out"]]\n'
            'print("-".join(map(str, widths)), "ReLU MLP,", "biases:", spec["bias"], '
            '"data:", run.dataset_name)\n'
            "explorer = ll.LensExplorer(run)\n"
            "explorer"
        ),
        v4.new_markdown_cell("The samples you brushed, and their labels:"),
        v4.new_code_cell(
            "selected = explorer.embedding.selection\n"
            "labels = run.probe_labels[selected].tolist()\n"
            "len(selected), labels[:20]"
        ),
        v4.new_markdown_cell(
            "Training dynamics: loss and accuracy, intra/inter-class similarity of W_eff, and "
            "how each class's sub-clusters persist and stay apart over training."
        ),
        v4.new_code_cell(
            "from bokeh.io import show  # BokehJS is already loaded, by the explorer's panel\n\n"
            "show(ll.plots.training_dynamics(run))"
        ),
    ]
    notebook = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def execute_demo_notebook(path: Path, *, timeout_s: int = 600) -> bool:
    """Run the demo notebook once, saving its outputs and widget state into the file.

    Opened afterwards, JupyterLab draws the explorer from the saved widget state at once (its
    front end is the package's own bundle, saved with the state), before any cell is re-run
    and before the kernel has computed anything. Progress bars of that run are dropped from
    the saved outputs, so no leftover bar shows. A notebook that already has outputs is left
    alone (the user may have edited it); so is one that fails to run, with a one-line note.

    Parameters
    ----------
    path
        The demo notebook.
    timeout_s
        Longest time one cell may run.

    Returns
    -------
    bool
        Whether the notebook was executed and saved now.
    """
    import nbformat

    if importlib.util.find_spec("nbclient") is None:
        return False
    notebook = nbformat.read(path, as_version=4)
    if any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"):
        _trust(notebook)
        return False
    from nbclient import NotebookClient

    say("running the demo notebook once, so the explorer shows as soon as it opens")
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except Exception as exc:  # the notebook still opens; it just runs in the browser instead
        say(f"could not run the demo notebook ahead ({error_text(exc)}); run it in JupyterLab")
        return False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_without_progress, cell.outputs) if o is not None]
    nbformat.write(notebook, path)
    _trust(notebook)
    return True


def _trust(notebook: Any) -> None:
    """Mark the demo notebook, which this command wrote and ran itself, as trusted.

    JupyterLab renders widget outputs (an unsafe MIME type) only in trusted notebooks; an
    untrusted one shows the explorer's text repr until its cells are re-run. This is what
    ``jupyter trust`` does: the notebook's signature goes into the user's Jupyter data folder.
    """
    from nbformat.sign import NotebookNotary

    try:
        NotebookNotary().sign(notebook)
    except Exception as exc:  # an unwritable data folder: the notebook still opens, untrusted
        say(f"could not mark the demo notebook as trusted ({error_text(exc)})")


_PROGRESS_BAR = re.compile(r"\d+%\|")


def _without_progress(output: Any) -> Any | None:
    """Return a notebook output without progress-bar text (None when nothing else is left)."""
    if output.get("output_type") == "stream":
        lines = re.split(r"(?<=[\r\n])", output.get("text", ""))
        kept = "".join(line for line in lines if not _PROGRESS_BAR.search(line))
        if not kept.strip():
            return None
        output["text"] = kept
        return output
    plain = str(output.get("data", {}).get("text/plain", ""))
    return None if _PROGRESS_BAR.search(plain) else output
