"""The browser harness: JupyterLab, Chromium through Playwright, notebook and widget drivers.

Used by the real-browser tests (``tests/e2e``) and by ``benchmarks/browser.py`` (run as
``uv run python -m benchmarks.browser`` from the repository root).
"""
