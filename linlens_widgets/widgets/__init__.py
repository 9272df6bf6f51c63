"""Jupyter widgets (anywidget): thin Python state holders; all drawing lives in js/."""
