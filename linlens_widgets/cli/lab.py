"""Starting JupyterLab on the demo notebook, at an address that opens the notebook itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from linlens_widgets.cli.terminal import say

LAB_INSTALL_HINT = "install with pip install 'linlens-widgets[lab]'"
"""What ``linlens demo`` says when JupyterLab is missing."""


def _free_port() -> int:
    """Return a TCP port on localhost that is free now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notebook_url(notebook: Path, port: int, token: str) -> str:
    """Return the address that opens ``notebook`` itself in JupyterLab (not a Launcher).

    >>> notebook_url(Path("/cache/demo.ipynb"), 8888, "abc")
    'http://localhost:8888/lab/tree/demo.ipynb?token=abc'
    """
    from urllib.parse import quote

    return f"http://localhost:{port}/lab/tree/{quote(notebook.name)}?token={token}"


def launch_lab(notebook: Path, *, port: int | None, open_browser: bool) -> int:
    """Run ``python -m jupyter lab`` on ``notebook`` until the user stops it.

    The port and the access token are chosen here, so the printed address opens the notebook
    itself, token included.

    Returns
    -------
    int
        JupyterLab's exit status.
    """
    import secrets

    port = _free_port() if port is None else port
    token = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "jupyter", "lab", notebook.name]
    command += [f"--port={port}", f"--IdentityProvider.token={token}"]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        command.append("--allow-root")
    say(f"starting JupyterLab on {notebook} (Ctrl+C to stop)")
    print(f"Open the demo notebook: {notebook_url(notebook, port, token)}", flush=True)
    print(
        "Next: click a point in the scatter to compare it, shift-click a second one, and drag "
        "the checkpoint slider (or press Play) to watch training.",
        flush=True,
    )
    process = subprocess.Popen(command, cwd=notebook.parent)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # Jupyter gets the same Ctrl+C and decides when to stop
            continue
