"""A JupyterLab server in an isolated temp dir, started and stopped by PID for the browser tests.

Every Jupyter directory (config, data, runtime, IPython) lives under one temp dir so the tests
never read or write a developer's settings, and Lab never restores old tabs. Lab still finds the
prebuilt labextensions (anywidget, jupyter_bokeh) because they live under ``sys.prefix``, which is
always on Jupyter's data path.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# Settings written to the isolated user-settings dir: no news/update pop-up or toast covering the
# widgets, no autosave racing the tests' own notebook files, every cell attached to the DOM (no
# windowing, so a cell's widget is there even when scrolled away).
USER_SETTINGS: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
}

START_TIMEOUT_S = 90.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(base: Path) -> dict[str, str]:
    """Environment with every Jupyter/IPython directory under ``base`` (created here)."""
    env = dict(os.environ)
    for var, sub in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
    }.items():
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTERLAB_SETTINGS_DIR", None)
    env.pop("JUPYTERLAB_WORKSPACES_DIR", None)
    # One thread per kernel: the CI box has two cores and Chromium needs one of them.
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    return env


def write_user_settings(config_dir: Path) -> None:
    """Write Lab's user settings (no news pop-up, no autosave) into the isolated config dir."""
    root = config_dir / "lab" / "user-settings"
    for plugin_id, values in USER_SETTINGS.items():
        package, plugin = plugin_id.rsplit("/", 1)
        path = root / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


@dataclass
class LabServer:
    """A running JupyterLab: its URL, its root dir (where notebooks go) and its log file."""

    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    kernel_pids: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_dir(self) -> Path:
        """The server's root dir: notebooks written here open as ``/lab/tree/<name>``."""
        return self.base_dir / "root"

    def notebook_url(self, name: str) -> str:
        """URL that opens ``name`` in a fresh workspace (``?reset`` drops restored tabs)."""
        return f"{self.url}/lab/tree/{name}?reset"

    def api(self, path: str, method: str = "GET") -> object:
        """Call the REST API and return the decoded JSON (None for empty replies)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-n_chars:]
        except OSError:
            return "<no log>"

    def remember_kernels(self) -> None:
        """Record the PIDs of the server's child processes (its kernels) for a sure stop."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        self.kernel_pids.update(child.pid for child in children)

    def stop(self) -> None:
        """Shut kernels down through the API, then stop the server and any kernel left, by PID."""
        self.remember_kernels()
        try:
            kernels = self.api("/api/kernels")
            for kernel in kernels if isinstance(kernels, list) else []:
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except (OSError, urllib.error.URLError):
            pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        _stop_pids(self.kernel_pids)


def _stop_pids(pids: set[int]) -> None:
    """Terminate, then kill, the processes with these PIDs that are still alive."""
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.terminate()
            procs.append(proc)
        except psutil.NoSuchProcess:
            continue
    _gone, alive = psutil.wait_procs(procs, timeout=5)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


def start_lab(base_dir: Path) -> LabServer:
    """Start ``python -m jupyter lab`` on a free loopback port; wait until ``/api/status`` answers.

    Raises
    ------
    RuntimeError
        If the server exits or does not answer within ``START_TIMEOUT_S``; names its log.
    """
    env = isolated_env(base_dir)
    write_user_settings(Path(env["JUPYTER_CONFIG_DIR"]))
    root = base_dir / "root"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = base_dir / "lab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--allow-root",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = LabServer(base_dir=base_dir, port=port, process=process, log_path=log_path)
    _wait_ready(server)
    return server


def _wait_ready(server: LabServer) -> None:
    """Poll ``/api/status`` until the server answers; stop it and raise if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode}; log {server.log_path}:\n"
                f"{server.log_tail()}"
            )
        try:
            server.api("/api/status")
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.25)
    server.stop()
    raise RuntimeError(
        f"JupyterLab did not answer /api/status within {START_TIMEOUT_S:.0f} s; "
        f"log {server.log_path}:\n{server.log_tail()}"
    )
