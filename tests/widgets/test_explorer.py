import json
import re

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.widgets._page import bank_samples
from tests.helpers.offline import page_config
from tests.widgets.conftest import make_trajectory


@pytest.fixture
def ex(run, traj):
    return ll.LensExplorer(run, trajectory=traj, panel=False)


def test_children_and_defaults(ex, run):
    last = len(run.checkpoints) - 1
    assert ex.checkpoint == ex.scrubber.checkpoint == last
    assert ex.embedding.checkpoint == ex.compare.checkpoint == last
    assert ex.compare.a == [0]
    assert int(run.probe_labels[ex.compare.b[0]]) != int(run.probe_labels[0])
    assert ex.layout_widget.embedding is ex.embedding
    state = ex.layout_widget.get_state()
    assert state["embedding"] == f"IPY_MODEL_{ex.embedding.model_id}"


def test_checkpoint_moves_all_three(ex, run):
    ex.checkpoint = 1
    assert ex.scrubber.checkpoint == ex.embedding.checkpoint == ex.compare.checkpoint == 1
    ex.checkpoint = -1
    assert ex.embedding.checkpoint == ex.compare.checkpoint == len(run.checkpoints) - 1
    with pytest.raises(ValueError, match="checkpoint index 9"):
        ex.checkpoint = 9


def test_links_live_in_the_front_end_only(ex):
    # The linking rules are the front end's (js/src/explorer.js, tested by vitest): Python adds
    # no observer between the three widgets, so the rules exist once and a browser value is
    # never echoed back by the kernel while the user scrubs.
    ex.scrubber.checkpoint = 1
    assert ex.embedding.checkpoint == ex.compare.checkpoint == 4
    ex.embedding.selection = [7, 8]
    assert ex.compare.a != [7, 8] and ex.compare.b != [7, 8]
    ex.scrubber.set_state({"checkpoint": 2})  # as a message from the browser
    assert ex.scrubber.checkpoint == 2 and ex.embedding.checkpoint == 4


def test_compare_selection_makes_the_group_an_operand(ex):
    ex.embedding.selection = []
    with pytest.raises(ValueError, match="selection is empty"):
        ex.compare_selection()
    ex.embedding.selection = [3, 5, 9]
    assert ex.compare_selection() == [3, 5, 9] == ex.compare.a
    ex.embedding.selection = [4]
    assert ex.compare_selection("b") == [4] == ex.compare.b
    with pytest.raises(ValueError, match="operand must be"):
        ex.compare_selection("c")


def test_explorer_operands(run, traj):
    ex = ll.LensExplorer(run, trajectory=traj, panel=False, a=[1, 2], b=5)
    assert (ex.compare.a, ex.compare.b) == ([1, 2], [5])
    ex = ll.LensExplorer(run, trajectory=traj, panel=False, a=3)
    assert ex.compare.a == [3]


def test_mismatched_trajectory_is_refused(run):
    with pytest.raises(ValueError, match="N=30"):
        ll.LensExplorer(run, trajectory=make_trajectory(run, n=30), panel=False)


def test_bank_samples_spread_over_classes():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    assert bank_samples(labels, 3, []).tolist() == [0, 3, 5]
    assert bank_samples(labels, 4, [7]).tolist() == [0, 1, 3, 5, 7]
    with pytest.raises(ValueError, match="at least 2"):
        bank_samples(labels, 1, [])


def test_save_html_refuses_an_unknown_precision_before_writing(ex, tmp_path):
    with pytest.raises(ValueError, match="precision must be one of auto, float32, float16"):
        ex.save_html(tmp_path / "p.html", precision="bfloat16")
    assert not (tmp_path / "p.html").exists()


def _config(text):
    return page_config(text)


@pytest.fixture
def page(ex, tmp_path, monkeypatch):
    # class means come from the analysis package, which needs a real run; a constant stands in.
    monkeypatch.setattr(
        type(ex.compare),
        "class_means",
        lambda self, checkpoint=None: np.zeros((3, 3, 16), np.float32),
    )
    ex.embedding.selection = [10, 11]
    path = ex.save_html(tmp_path / "page.html", max_samples=6)
    return path.read_text(encoding="utf-8")


def test_save_html_is_self_contained(page):
    assert not re.search(r"<script[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", page, re.I)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page, re.I)
    assert "linlensPage" in page  # the bundle is inlined
    assert "no kernel needed" in page


def test_save_html_puts_the_bank_after_the_code_that_draws_the_first_frame(page):
    """The browser runs the page's code once it has read the widgets' state and the bundle; the
    bank (a network, for a portable model: most of the file) follows the boot script, so the
    first scatter does not wait for it, and the state says what follows."""
    state = page.index('<script id="linlens-config" type="application/json">')
    boot = page.index("window.linlensPage.boot(")
    data = page.index('<script class="linlens-data" type="application/json">')
    assert state < boot < data
    shown = json.loads(
        re.search(r'id="linlens-config" type="application/json">(.*?)</script>', page)[1]
    )
    assert "bank" not in shown and shown["carries"] == ["bank"]
    assert "carries" not in _config(page) and "weight" in _config(page)["bank"]


def test_a_page_whose_data_script_is_missing_or_different_is_refused(page, tmp_path):
    """check_page (run before a page is renamed into place) reads both scripts."""
    from linlens_widgets.widgets import _page

    cut = re.sub(r'<script class="linlens-data" type="application/json">.*?</script>', "", page)
    assert cut != page
    with pytest.raises(ValueError, match=r"data script holds \[\], but its state says \['bank'\]"):
        _page.page_config(cut)
    other = page.replace(
        'class="linlens-data" type="application/json">{"bank"',
        'class="linlens-data" type="application/json">{"network"',
    )
    with pytest.raises(ValueError, match=r"holds \['network'\]"):
        _page.page_config(other)
    broken = tmp_path / "broken.html"
    broken.write_text(
        page.replace(
            'class="linlens-data" type="application/json">{',
            'class="linlens-data" type="application/json">{{',
        )
    )
    with pytest.raises(ValueError, match="the page's embedded data is not valid JSON"):
        _page.check_page(broken)


def test_save_html_state_and_bank(page, run):
    cfg = _config(page)
    assert set(cfg["models"]) == {"explorer", "embedding", "compare", "scrubber"}
    emb = cfg["models"]["embedding"]["state"]
    assert emb["_positions"]["shape"] == [len(run.checkpoints), run.n, 2]
    assert "view" not in emb["_positions"] and "b64" in emb["_positions"]
    assert emb["value_name"] == "in this page"
    bank = cfg["bank"]
    samples = np.frombuffer(__import__("base64").b64decode(bank["samples"]["b64"]), np.int32)
    assert {0, 10, 11}.issubset(set(samples.tolist()))
    assert len(samples) <= 6 + 4
    assert bank["weight"]["shape"] == [len(samples), len(run.checkpoints), 3, 16]
    weight = np.frombuffer(__import__("base64").b64decode(bank["weight"]["b64"]), np.float32)
    weight = weight.reshape(bank["weight"]["shape"])
    k = samples.tolist().index(10)
    np.testing.assert_allclose(
        weight[k, 2], run.effective_weights(2).weight[10].reshape(3, 16).numpy(), rtol=1e-6
    )
    assert "_esm" not in emb and "layout" not in emb


def test_explorer_without_a_trajectory_says_it_computes_one(run, traj, capsys, monkeypatch):
    calls = []

    def fake_embed(r, *, progress):
        calls.append(progress)
        return traj

    monkeypatch.setattr("linlens_widgets.analysis.embed.embed", fake_embed)
    ex = ll.LensExplorer(run, panel=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"Embedding {run.n} probe samples at {len(run.checkpoints)} checkpoints (aligned t-SNE); "
        "the run has no folder, so it is kept in memory only (save the run to keep it)"
    ]
    assert calls == [True]  # ll.embed's progress bars are shown
    assert ex.trajectory is traj
