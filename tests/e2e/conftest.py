"""Fixtures for the real-browser tests: one JupyterLab and one Chromium per session.

- ``lab_server``: JupyterLab in an isolated temp dir (see ``tests/helpers/browser/lab.py``),
  stopped by PID at the end.
- ``browser``: Debian's Chromium driven by Playwright, WebGL through SwiftShader.
- ``digits_run_path``: a small digits run (mlp 64-[32,32]-10, 8 checkpoints, embedded), saved once.
- ``open_notebook``: writes a notebook, opens it in a new page, runs its setup cells; the kernel is
  shut down when the module ends (one notebook per test module).
- ``guard``: per test, screenshots tracked pages on failure into ``test-artifacts/e2e/<test>/``
  and fails the test if a tracked page logged an uncaught error or a console error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.helpers.browser.chromium import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from tests.helpers.browser.guard import Guard, artifacts_dir
from tests.helpers.browser.lab import LabServer, start_lab
from tests.helpers.browser.notebook import LabNotebook, write_notebook
from tests.helpers.browser.runs import train_digits_run
from tests.helpers.browser.watch import PageWatch

BUNDLE_FILES = ("embedding.js", "compare.js", "scrubber.js", "explorer.js", "page.js")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    folder = getattr(item, "e2e_artifacts", None)
    if report.failed and folder is not None:
        report.sections.append(("e2e artifacts", f"screenshots and page errors in {folder}"))
    return report


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Path of Debian's Chromium; skip (or fail under CI) when it is not installed."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set LINLENS_CHROMIUM)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def frontend_built() -> None:
    """Fail early, naming the fix, when the widgets' JavaScript bundle was never built."""
    from linlens_widgets.widgets._bundle import BUILD_HINT, STATIC

    missing = [n for n in BUNDLE_FILES if not (STATIC / n).is_file()]
    if missing:
        pytest.fail(
            f"front-end bundle not built ({', '.join(missing)} missing in {STATIC}); "
            f"the browser tests would only see the 'not built' message. Run `{BUILD_HINT}`."
        )


@pytest.fixture(scope="session")
def browser(chromium_executable: Path) -> Iterator[Browser]:
    """Headless Chromium launched by Playwright (no download: the system binary)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_executable), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lab_server(
    tmp_path_factory: pytest.TempPathFactory, chromium_executable: Path
) -> Iterator[LabServer]:
    """JupyterLab on a free loopback port with every Jupyter dir isolated under a temp dir."""
    server = start_lab(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def digits_run_path(tmp_path_factory: pytest.TempPathFactory, frontend_built: None) -> Path:
    """A small digits run with its trajectory, trained once per session and saved.

    Every product test uses it, so it also checks the front end is built (the harness tests,
    which need no bundle, do not).
    """
    return train_digits_run(tmp_path_factory.mktemp("runs"))


@dataclass
class LabSession:
    """An open notebook page: the driver, the page's error watch and its browser context."""

    nb: LabNotebook
    watch: PageWatch
    context: BrowserContext
    server: LabServer
    name: str

    @property
    def page(self) -> Page:
        """The browser page showing the notebook."""
        return self.nb.page

    def close(self) -> None:
        """Shut the notebook's kernel down and close its page."""
        try:
            sessions = self.server.api("/api/sessions")
            for session in sessions if isinstance(sessions, list) else []:
                if session.get("path") == self.name:
                    self.server.api(f"/api/sessions/{session['id']}", method="DELETE")
        except OSError:
            pass
        self.context.close()


OpenNotebook = Callable[..., LabSession]


@pytest.fixture(scope="module")
def open_notebook(browser: Browser, lab_server: LabServer) -> Iterator[OpenNotebook]:
    """Factory: ``open_notebook(name, setup_cells)`` writes, opens and runs a notebook.

    The setup cells run one by one (clicked, Shift+Enter) before the factory returns.
    """
    opened: list[LabSession] = []

    def _open(name: str, setup_cells: list[str], timeout_s: float = 240.0) -> LabSession:
        write_notebook(lab_server.root_dir / name, setup_cells)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch().attach(page)
        session = LabSession(
            LabNotebook(page, lab_server.notebook_url(name)), watch, context, lab_server, name
        )
        opened.append(session)
        session.nb.open()
        lab_server.remember_kernels()
        for index in range(len(setup_cells)):
            session.nb.run_cell(index, timeout_s=timeout_s)
        return session

    yield _open
    for session in opened:
        session.close()


@pytest.fixture
def guard(request: pytest.FixtureRequest) -> Iterator[Guard]:
    """Per-test error checks and failure screenshots (see ``Guard``); name in the report."""
    item = request.node
    item_guard = Guard(artifacts_dir(f"{item.path.stem}-{item.name}"))
    item.e2e_artifacts = item_guard.folder
    yield item_guard
    report = getattr(item, "rep_call", None)
    if report is not None and report.failed:
        item_guard.screenshot()
        item_guard.write_log()
    elif report is not None and report.passed:
        item_guard.assert_clean()
