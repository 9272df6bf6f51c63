from pathlib import Path

import pytest

from linlens_widgets.widgets import _bundle


def test_built_bundles_are_used_when_present():
    for name in ("embedding.js", "compare.js", "scrubber.js", "explorer.js", "page.js"):
        path = _bundle.bundle(name)
        assert isinstance(path, Path) and path.is_file(), name


def test_missing_bundle_renders_a_message_instead_of_failing_import(monkeypatch, tmp_path):
    monkeypatch.setattr(_bundle, "STATIC", tmp_path)
    stub = _bundle.bundle("embedding.js")
    assert isinstance(stub, str)
    assert "export default" in stub and "linlens-error" in stub and "npm run build" in stub
    with pytest.raises(_bundle.FrontEndMissingError, match="npm install && npm run build"):
        _bundle.bundle_path("page.js")
