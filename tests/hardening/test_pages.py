"""Saved pages: written through a fresh temporary file (never a followed link, nothing left
behind), strict JSON whatever the numbers, and every name escaped for the HTML parser."""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.widgets import _page
from tests.widgets.conftest import FakeRun, make_trajectory

#: Every sequence that changes the HTML parser's state inside a <script>, and friends.
SPECIALS = (
    "</script",
    "<!--",
    "<script",
    "-->",
    "]]>",
    "&lt;",
    "\x00",
    "\u2028",
    "\u2029",
    "</SCRIPT >",
)
HOSTILE = [f"a{s}b" for s in SPECIALS] + ["<!--<script>", "</script><script>alert(1)</script>"]


def strict_loads(text: str) -> Any:
    """JSON as browsers parse it: NaN, Infinity and -Infinity are errors."""

    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def config_text(page: str) -> str:
    m = re.search(r'<script id="linlens-config" type="application/json">(.*?)</script>', page, re.S)
    assert m, "the page holds its config script"
    return m.group(1)


def no_class_means(monkeypatch: pytest.MonkeyPatch) -> None:
    # class means come from the analysis package, which needs a real run; a constant stands in.
    monkeypatch.setattr(
        ll.WeightCompare,
        "class_means",
        lambda self, checkpoint=None: np.zeros((3, 3, 16), np.float32),
    )


def save_explorer(run: FakeRun, path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    no_class_means(monkeypatch)
    ex = ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False)
    return ex.save_html(path, max_samples=4)


def save_view(run: FakeRun, path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return ll.EmbeddingView(make_trajectory(run), run=run).save_html(path)


SAVERS = [save_explorer, save_view]


# ---------------------------------------------------------------------------- writes
@pytest.mark.parametrize("save", SAVERS)
@pytest.mark.parametrize("planted", ["page.html.tmp", ".page.html.tmp", "page.tmp"])
def test_a_link_planted_at_a_temporary_name_is_never_followed(tmp_path, monkeypatch, save, planted):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / planted).symlink_to(victim)
    out = save(FakeRun(), tmp_path / "page.html", monkeypatch)
    assert victim.read_text() == "keep me"
    assert out.is_file() and not out.is_symlink()
    assert (tmp_path / planted).is_symlink()  # left as it was, not replaced or followed


@pytest.mark.parametrize("save", SAVERS)
def test_a_link_at_the_page_path_is_replaced_not_written_through(tmp_path, monkeypatch, save):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "page.html").symlink_to(victim)
    out = save(FakeRun(), tmp_path / "page.html", monkeypatch)
    assert victim.read_text() == "keep me"
    assert not out.is_symlink() and "linlensPage" in out.read_text(encoding="utf-8")


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("save", SAVERS)
@pytest.mark.parametrize("stage", ["rename", "fsync", "write"])
def test_a_failed_write_leaves_the_old_page_and_no_temporary_file(
    tmp_path, monkeypatch, save, stage
):
    page = tmp_path / "page.html"
    page.write_text("old page")
    before = _listing(tmp_path)
    target = {"rename": "replace", "fsync": "fsync", "write": "write"}[stage]

    def fail(*_a: Any, **_k: Any) -> Any:
        raise OSError(28, "No space left on device")

    if target == "write":
        real_fdopen = os.fdopen

        class FullDisk:
            """A file whose write stops after a few bytes, as on a full disk."""

            def __init__(self, f: Any) -> None:
                self.f = f

            def __enter__(self) -> FullDisk:
                return self

            def __exit__(self, *exc: Any) -> None:
                self.f.close()

            def write(self, data: bytes) -> int:
                self.f.write(data[:10])
                fail()

            def __getattr__(self, name: str) -> Any:
                return getattr(self.f, name)

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
    else:
        monkeypatch.setattr(os, target, fail)
    with pytest.raises(OSError, match="space"):
        save(FakeRun(), page, monkeypatch)
    monkeypatch.undo()
    assert page.read_text() == "old page"
    assert _listing(tmp_path) == before


def test_a_folder_at_the_page_path_is_an_error_and_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "page.html").mkdir()
    with pytest.raises(OSError):
        save_view(FakeRun(), tmp_path / "page.html", monkeypatch)
    assert _listing(tmp_path) == {"page.html"}


def test_a_page_that_would_not_parse_is_never_renamed_into_place(tmp_path, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("old page")
    # a regression in the encoder that lets a bare NaN through must not produce a blank page
    monkeypatch.setattr(_page, "script_json", lambda data: '{"root":"embedding","x":NaN}')
    with pytest.raises(ValueError, match="JSON"):
        save_view(FakeRun(), page, monkeypatch)
    assert page.read_text() == "old page"
    assert _listing(tmp_path) == {"page.html"}


def test_pages_are_readable_like_other_files(tmp_path, monkeypatch):
    out = save_view(FakeRun(), tmp_path / "page.html", monkeypatch)
    assert out.stat().st_mode & 0o444 == 0o444


# ---------------------------------------------------------------------------- non-finite numbers
def _run_with_metrics(values: list[Any], *, epoch_inf: bool = False) -> FakeRun:
    run = FakeRun()
    for ck, v in zip(run.checkpoints, values, strict=True):
        ck.metrics = {"train_loss": 1.0} if v is ... else {"train_loss": 1.0, "test_acc": v}
    if epoch_inf:
        run.checkpoints[-1].epoch = float("inf")
    return run


NON_FINITE = {
    "nan metric": [0.5, float("nan"), 0.7, 0.8, 0.9],
    "inf metric": [0.5, float("inf"), float("-inf"), 0.8, 0.9],
    "stored null": [0.5, None, 0.7, None, 0.9],
    "numpy nan": [np.float32(0.5), np.float64("nan"), 0.7, 0.8, 0.9],
    "only some checkpoints": [..., 0.6, ..., 0.8, 0.9],
}


@pytest.mark.parametrize("save", SAVERS)
@pytest.mark.parametrize("case", sorted(NON_FINITE))
def test_non_finite_numbers_become_null_in_strict_json(tmp_path, monkeypatch, save, case):
    run = _run_with_metrics(NON_FINITE[case], epoch_inf=case == "inf metric")
    out = save(run, tmp_path / "page.html", monkeypatch)
    config = strict_loads(config_text(out.read_text(encoding="utf-8")))
    assert config["models"]


@pytest.mark.parametrize("case", sorted(NON_FINITE))
def test_the_live_widget_gets_the_same_encoding(case):
    """Jupyter sends state as strict JSON; a NaN would arrive as the string 'nan' (or fail)."""
    from jupyter_client.session import json_packer

    run = _run_with_metrics(NON_FINITE[case], epoch_inf=True)
    scrub = ll.CheckpointScrubber(run)
    state = scrub.get_state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # json_packer warns when it has to clean NaN into strings
        packed = json.loads(json_packer(state))
    (acc,) = [s for s in packed["_series"] if s["name"] == "test acc"]
    expected = [
        float(v) if isinstance(v, (int, float, np.floating)) and math.isfinite(v) else None
        for v in NON_FINITE[case]
    ]
    assert (
        acc["values"] == pytest.approx(expected)
        if None not in expected
        else acc["values"] == [None if e is None else pytest.approx(e) for e in expected]
    )
    assert packed["_frames"][-1]["epoch"] is None


@pytest.mark.parametrize("value", [float("nan"), None, float("inf"), float("-inf")])
def test_labels_show_a_missing_metric_as_a_dash(value):
    run = FakeRun()
    run.checkpoints[1].metrics = {"test_acc": value, "train_loss": value}
    labels = ll.EmbeddingView(make_trajectory(run), run=run)._checkpoint_labels
    assert labels[1].endswith("test acc – · train loss –"), labels[1]
    assert "nan" not in " ".join(labels).lower() and "inf" not in " ".join(labels).lower()


def test_script_json_refuses_nothing_and_writes_no_bare_constants():
    data = {
        "a": [float("nan"), float("inf"), -float("inf"), np.float32("nan"), 1.5],
        "b": {"c": np.inf},
    }
    text = _page.script_json(data)
    assert strict_loads(text) == {"a": [None, None, None, None, 1.5], "b": {"c": None}}


# ---------------------------------------------------------------------------- escaping
@pytest.mark.parametrize("name", HOSTILE)
def test_names_cannot_leave_the_config_script(tmp_path, monkeypatch, name):
    run = FakeRun(classes=(name, "one", "two"), dataset_name=name)
    for ck in run.checkpoints:
        ck.metrics = dict(ck.metrics) | {f"acc{name}": 0.5}
    out = save_explorer(run, tmp_path / "page.html", monkeypatch)
    page = out.read_text(encoding="utf-8")
    text = config_text(page)
    data = re.findall(r'<script class="linlens-data" type="application/json">(.*?)</script>', page)
    for script in (text, *data):
        assert not set(script) & set("<>&\u2028\u2029\x00")
    config = strict_loads(text)
    assert config["models"]["embedding"]["state"]["_classes"][0] == name
    # exactly the scripts of the template (the state, the code, the boot and, for a page that
    # carries a network or a bank, its data in 64 KiB pieces): no name opened or closed one
    assert bool(data) == bool(config.get("carries"))
    scripts = 3 + len(data)
    assert page.lower().count("<script") == page.lower().count("</script") == scripts


@pytest.mark.parametrize("data", [{"k": s} for s in SPECIALS] + [{s: 1} for s in SPECIALS])
def test_script_json_round_trips_every_special_sequence(data):
    text = _page.script_json(data)
    assert not set(text) & set("<>&\u2028\u2029\x00")
    assert strict_loads(text) == data


def test_the_data_is_cut_into_pieces_that_join_back_to_the_same_json():
    """A page's data (the network) goes in 64 KiB script elements; none can form a tag, and the
    page (and ``page_config``) read them back joined."""
    carried = {"network": {"b64": "A" * (2 * _page.DATA_CHUNK + 5), "name": "</script><!--"}}
    html = _page.data_scripts(carried)
    pieces = re.findall(
        r'<script class="linlens-data" type="application/json">(.*?)</script>', html
    )
    assert len(pieces) == 3 and all(len(p) <= _page.DATA_CHUNK for p in pieces)
    assert not any(set(p) & set("<>&") for p in pieces)
    state = '<script id="linlens-config" type="application/json">{"carries":["network"]}</script>'
    assert _page.page_config(state + html) == carried
