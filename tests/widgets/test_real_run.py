"""The widgets on a real recorded run (digits, small MLP, PCA embedding: fast)."""

import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.widgets._packing import unpack
from tests.helpers.offline import page_config
from tests.widgets.conftest import Sent

pytestmark = pytest.mark.slow  # loads torch, scikit-learn digits and records a run (~10-30 s)


@pytest.fixture(scope="module")
def real():
    torch.manual_seed(0)
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16], data.n_classes, bias=True)
    rec = ll.Recorder(model, data, probe=60)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):
        rec.snapshot(epoch=float(step), step=step * 5)
        for _ in range(5):
            idx = torch.randint(0, len(data.y_train), (64,))
            loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    run = rec.run
    traj = ll.embed(run, method="pca", progress=False)
    return run, traj


def test_explorer_on_a_real_run(real, tmp_path, monkeypatch):
    run, traj = real
    ex = ll.LensExplorer(run, trajectory=traj, panel=False, class_means=True)
    n = len(run.probe_labels)
    assert ex.embedding._positions.shape == (3, n, 2)
    assert ex.embedding._thumbnails.shape == (n, 8, 8, 1)
    ex.checkpoint = 1
    assert ex.compare.checkpoint == ex.embedding.checkpoint == 1
    sent = Sent(ex.compare, monkeypatch)
    ex.compare._on_message(ex.compare, {"type": "fetch", "sample": 4, "checkpoint": 1}, [])
    content, buffers = sent.messages[0]
    arrays = {
        s["name"]: np.frombuffer(b, s["dtype"]).reshape(s["shape"])
        for s, b in zip(content["arrays"], buffers, strict=True)
    }
    ew = run_weights(run).effective_weights(int(traj.checkpoint_ids[1]))
    np.testing.assert_allclose(arrays["weight"], ew.weight[4].reshape(10, 64).numpy(), rtol=1e-5)
    assert arrays["bias"].shape == (10,)  # the MLP has biases, so b_eff is sent
    # f(x) = W_eff x + b_eff holds for what the front end draws
    np.testing.assert_allclose(
        arrays["weight"] @ arrays["input"] + arrays["bias"], arrays["output"], atol=1e-4
    )
    ex.compare._on_message(ex.compare, {"type": "fetch_class_means", "checkpoint": 1}, [])
    means = sent.messages[1][0]["arrays"][0]
    assert means["shape"] == [10, 10, 64]
    path = ex.save_html(tmp_path / "real.html", max_samples=12)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", text, re.I)
    config = page_config(text)
    # a portable MLP: the page carries the network, not a bank of samples
    assert "bank" not in config
    packed = config["network"]
    network = unpack(packed)  # checkpoint deltas and byte planes, decoded as the page does
    assert len(network["weights"]) == len(ex.compare.checkpoint_ids)
    assert network["inputs"].dtype == np.uint8  # digits are sixteenths, stored exactly
    x = np.asarray(run.probe_inputs, np.float32).reshape(network["inputs"].shape)
    np.testing.assert_array_equal((network["inputs"] * packed["input_scale"]).astype(np.float32), x)
    n, e = len(run.probe_labels), len(ex.compare.checkpoint_ids)
    assert network["neighbors"]["index"].shape == (e, n, 10)
    assert network["probe_mean"].shape == (e, 10, 64)
    dtype = packed["spec"]["dtype"]
    assert f"W_eff in your browser ({dtype} weights, compressed without loss" in text
    assert "of the float32 engine at every checkpoint" in text  # the measured error is stated
    assert "embed_items" not in text  # no inlined BokehJS
    with pytest.raises(ValueError, match="fewer checkpoints"):
        ex.save_html(tmp_path / "small.html", max_mb=0.1)


def test_embedding_page_of_a_real_run(real, tmp_path):
    run, traj = real
    view = ll.EmbeddingView(traj, run=run, color="correct")
    path = view.save_html(tmp_path / "scatter.html")
    text = path.read_text(encoding="utf-8")
    assert '"kind":"embedding"' in text and "no kernel needed" in text
    assert not re.search(r"""<(script|link)[^>]+(src|href)=""", text, re.I)


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (relative path → content)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _set_read_only(folder: Path, read_only: bool) -> None:
    for p in [folder, *folder.rglob("*")]:
        mode = p.stat().st_mode
        writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        p.chmod(mode & ~writable if read_only else mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A recorded digits run with 96 probe samples (enough for t-SNE's perplexity 30), on disk."""
    torch.manual_seed(1)
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16], data.n_classes)
    rec = ll.Recorder(model, data, probe=96)
    for step in range(2):
        rec.snapshot(epoch=float(step), step=step)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
    folder = tmp_path_factory.mktemp("runs") / "digits"
    rec.run.save(folder)
    return folder


def test_explorer_on_a_read_only_run_says_what_it_computes_and_writes_nothing(saved_run, capsys):
    run = ll.Run.load(saved_run)
    before = _snapshot(saved_run)
    _set_read_only(saved_run, True)
    try:
        ex = ll.LensExplorer(run, panel=False)
    finally:
        _set_read_only(saved_run, False)
    out = capsys.readouterr().out
    assert "Embedding 96 probe samples at 2 checkpoints (aligned t-SNE)" in out
    assert f"{saved_run} is read-only, so it is kept in memory only" in out
    assert _snapshot(saved_run) == before  # byte-identical, nothing added
    assert run.path == saved_run  # the run is still attached to its folder
    assert ex.embedding._positions.shape == (2, 96, 2)


def test_explorer_stores_the_trajectory_in_a_writable_run_and_reuses_it(saved_run, capsys):
    run = ll.Run.load(saved_run)
    ll.LensExplorer(run, panel=False)
    out = capsys.readouterr().out
    assert f"storing it in {saved_run / 'analysis'}{os.sep} for next time" in out
    stored = set(_snapshot(saved_run)) - set(_snapshot(saved_run / "checkpoints"))
    assert any(name.startswith("analysis") for name in stored)
    again = ll.LensExplorer(ll.Run.load(saved_run), panel=False)
    assert capsys.readouterr().out == ""  # the stored trajectory is used: nothing computed
    assert again.embedding._positions.shape == (2, 96, 2)


def test_explorer_uses_the_trajectory_stored_with_the_run(real, capsys):
    run, traj = real  # ll.embed(run, method="pca") stored its result with the run
    ex = ll.LensExplorer(run, panel=False)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(ex.embedding._positions, traj.positions)


def test_metrics_panel_cursor_follows_the_scrubber(real, tmp_path):
    from linlens_widgets import plots

    run, traj = real
    ex = ll.LensExplorer(run, trajectory=traj)
    assert ex.panel is not None and ex.panel_figure is not None
    cursor = ex.panel_figure.select_one({"name": plots.CURSOR_NAME})
    xs = [float(v) for v in ex.panel_figure.select_one({"name": "checkpoints"}).data["x"]]
    assert cursor.location == pytest.approx(xs[int(traj.checkpoint_ids[-1])])
    ex.scrubber.checkpoint = 0
    assert cursor.location == pytest.approx(xs[int(traj.checkpoint_ids[0])])
    text = ex.save_html(tmp_path / "panel.html", max_samples=4).read_text(encoding="utf-8")
    config = page_config(text)
    assert config["chart"]["cursor"] == pytest.approx([xs[int(i)] for i in traj.checkpoint_ids])


def test_the_panel_and_the_page_chart_show_agreement_beside_the_similarity(real, tmp_path):
    """The explorer's panel and the saved page's chart draw the kNN agreement with intra/inter."""
    run, traj = real
    ex = ll.LensExplorer(run, trajectory=traj)
    drawn = {getattr(r.glyph, "y", None) for r in ex.panel_figure.renderers}
    assert {"intra", "inter", "agreement", "agreement_input"} <= drawn
    text = ex.save_html(tmp_path / "chart.html", max_samples=4).read_text(encoding="utf-8")
    config = page_config(text)
    series = {s["name"]: s["y"] for s in config["chart"]["series"]}
    assert {"intra", "inter", "agreement", "agreement_input"} <= set(series)
    expected = ll.metrics.over_run(run, ll.metrics.knn_agreement, progress=False)
    assert series["agreement"] == pytest.approx(expected.stack("overall").tolist())


def test_live_comparison_carries_centred_tables_and_reuses_them(real, tmp_path, monkeypatch):
    """A notebook opened from its saved state compares (centred, with neighbours) before its
    kernel runs: the live network payload holds the probe means and neighbour tables, kept in
    the run's analysis store so the next explorer (and a saved page) need not compute them."""
    from linlens_widgets.analysis.neighbors import probe_mean
    from linlens_widgets.widgets import _network

    run, traj = real
    saved = run.save(tmp_path / "run")
    run = ll.Run.load(saved)
    ex = ll.LensExplorer(run, trajectory=traj, panel=False)
    payload = ex.compare.send_network()
    ids = [int(i) for i in traj.checkpoint_ids]
    mean = payload["probe_mean"]
    got = np.frombuffer(bytes(mean["view"]), mean["dtype"]).reshape(mean["shape"])
    want = probe_mean(run_weights(run).effective_weights(ids[1]).weight).reshape(got.shape[1:])
    np.testing.assert_allclose(got[1], want.numpy(), rtol=1e-5, atol=1e-7)
    index = payload["neighbors"]["index"]
    assert index["shape"] == [len(ids), len(run.probe_labels), _network.NEIGHBORS_K]
    assert (saved / "analysis" / f"{_network.TABLES_ENTRY}.safetensors").is_file()

    def recomputed(*args, **kwargs):
        raise AssertionError("the stored comparison tables were computed again")

    monkeypatch.setattr(_network, "_tables", recomputed)
    again = ll.LensExplorer(ll.Run.load(saved), trajectory=traj, panel=False)
    assert again.compare.send_network()["probe_mean"]["shape"] == mean["shape"]
    again.save_html(tmp_path / "page.html")  # the page reuses them too


def test_a_large_probe_set_leaves_its_tables_to_the_kernel_until_they_are_stored(
    real, tmp_path, monkeypatch
):
    """Above LIVE_TABLES_MAX_PROBES the explorer's first state does not wait for the tables
    (an N x N neighbour search per checkpoint): the live payload carries the network without
    them, the kernel answers the centred comparison and the neighbours, and once a saved page
    has computed and stored them the next explorer sends them again."""
    from linlens_widgets.widgets import _network
    from linlens_widgets.widgets import compare as compare_module

    run, traj = real
    saved = run.save(tmp_path / "run")
    for kept in (saved / "analysis").glob(f"{_network.TABLES_ENTRY}.*"):  # from other tests
        kept.unlink()
    monkeypatch.setattr(compare_module, "LIVE_TABLES_MAX_PROBES", len(run.probe_labels) - 1)
    computed: list[int] = []
    real_tables = _network._tables

    def counted(*args, **kwargs):
        computed.append(1)
        return real_tables(*args, **kwargs)

    monkeypatch.setattr(_network, "_tables", counted)
    ex = ll.LensExplorer(ll.Run.load(saved), trajectory=traj, panel=False)
    payload = ex.compare.send_network()
    assert payload is not None and "weights" in payload  # the network is still sent
    assert "probe_mean" not in payload and "neighbors" not in payload
    assert computed == []
    ex.save_html(tmp_path / "page.html")  # a page has no kernel: it computes and stores them
    assert computed == [1]
    again = ll.LensExplorer(ll.Run.load(saved), trajectory=traj, panel=False)
    carried = again.compare.send_network()
    assert "probe_mean" in carried and "neighbors" in carried
    assert computed == [1]


def test_presentation_size_grows_the_panels_text(real):
    run, traj = real
    ex = ll.LensExplorer(run, trajectory=traj)
    fig = ex.panel_figure
    axis, legend = fig.xaxis[0], fig.legend[0]
    before = {
        "axis": axis.axis_label_text_font_size,
        "ticks": axis.major_label_text_font_size,
        "legend": legend.label_text_font_size,
    }

    def now():
        return {
            "axis": axis.axis_label_text_font_size,
            "ticks": axis.major_label_text_font_size,
            "legend": legend.label_text_font_size,
        }

    ex.compare.presentation = True
    grown = now()
    for key, size in before.items():
        assert grown[key][-2:] == size[-2:]
        assert float(grown[key][:-2]) == pytest.approx(float(size[:-2]) * 1.4), key
    ex.compare.presentation = False
    ex.compare.presentation = True  # toggling again does not compound
    assert now() == grown
    ex.compare.presentation = False
    assert now() == before


def test_a_large_run_draws_its_panel_after_the_first_state(real, tmp_path, monkeypatch):
    """Above LIVE_TABLES_MAX_PROBES a panel whose analyses are not stored does not hold up the
    first state: a pending panel says what is computed and counts the checkpoints, the panel
    takes its place when done, the analyses are kept with the run, and the next explorer draws
    the panel from them without computing again."""
    import threading

    from linlens_widgets.analysis import over_run
    from linlens_widgets.widgets import explorer as explorer_module
    from linlens_widgets.widgets.panel import PendingPanel

    run, traj = real
    saved = run.save(tmp_path / "run")
    for kept in (saved / "analysis").glob("plots.*"):  # from other tests
        kept.unlink()
    n = len(run.probe_labels)
    monkeypatch.setattr(explorer_module, "LIVE_TABLES_MAX_PROBES", n - 1)
    gate = threading.Event()
    agreement = over_run._LENS_ANALYSES["agreement"]

    calls: list[int] = []

    def held(run, progress):
        calls.append(1)
        assert gate.wait(120), "the test never released the analysis"
        return agreement(run, progress)

    monkeypatch.setitem(over_run._LENS_ANALYSES, "agreement", held)
    ex = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)
    pending = ex.panel
    assert isinstance(pending, PendingPanel) and ex.panel_figure is None
    assert ex.children[1] is pending
    assert f"kNN agreement of {n:,} probe samples" in pending.text.value
    assert f"{saved}/analysis" in pending.text.value
    ex.checkpoint = 0  # the linked widgets work meanwhile
    assert ex.compare.checkpoint == 0
    assert ex.wait_for_panel(0.3) is False  # still held: the wait ends at its timeout
    gate.set()
    assert ex.wait_for_panel(120)
    assert pending.bar.value == pending.bar.max  # every checkpoint of both analyses counted
    assert ex.panel_figure is not None and ex.children[1] is ex.panel is not pending
    cursor = ex.panel_figure.select_one({"name": ll.plots.CURSOR_NAME})
    assert cursor.location == ex._cursor_xs[0]  # placed at the checkpoint shown now
    ex.checkpoint = len(run.checkpoints) - 1
    assert cursor.location == ex._cursor_xs[-1]
    assert over_run.lens_stored(ll.Run.load(saved), ["similarity", "agreement"])
    again = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)  # stored: drawn, not computed
    assert "drawing the metrics of" in again.panel.text.value
    assert again.panel.bar.layout.display == "none"  # no steps to count
    assert again.wait_for_panel(120) and again.panel_figure is not None
    assert calls == [1]


def test_a_pending_panel_says_why_it_failed(real, tmp_path, monkeypatch):
    from linlens_widgets.analysis import over_run
    from linlens_widgets.widgets import explorer as explorer_module

    run, traj = real
    saved = run.save(tmp_path / "run")
    for kept in (saved / "analysis").glob("plots.*"):
        kept.unlink()
    monkeypatch.setattr(explorer_module, "LIVE_TABLES_MAX_PROBES", len(run.probe_labels) - 1)

    def broken(run, progress):
        raise RuntimeError("features <b>lost</b>")

    monkeypatch.setitem(over_run._LENS_ANALYSES, "agreement", broken)
    ex = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)
    assert ex.wait_for_panel(120)
    assert ex.panel_figure is None
    assert ex.panel.text.value == "Metrics panel unavailable: features &lt;b&gt;lost&lt;/b&gt;"
    page = ex.save_html(tmp_path / "page.html", panel=False)  # the rest still works
    assert page.stat().st_size > 0


def test_the_first_state_from_a_stored_run_imports_no_tsne_library(real, tmp_path):
    """Opening a stored run reads its trajectory without importing openTSNE, scikit-learn or
    SciPy (about a second of the first state); they load only when a trajectory must be
    computed or measured."""
    import subprocess
    import sys

    run, _ = real
    ll.embed(run, method="pca", progress=False)  # attached, so the folder stores it
    saved = run.save(tmp_path / "run")
    code = (
        "import sys, linlens_widgets as ll\n"
        f"ex = ll.LensExplorer(ll.Run.load({str(saved)!r}))\n"
        "print(sorted(m for m in ('openTSNE', 'sklearn', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_the_panels_agreement_and_the_pages_neighbours_share_one_search(
    real, tmp_path, monkeypatch
):
    """The kNN agreement of the panel and the page's centred neighbour tables come from one
    N x N search per checkpoint (the costliest step of a large run's page), and the agreement
    is the one ll.metrics.knn_agreement gives."""
    from linlens_widgets.analysis import agreement as agreement_module
    from linlens_widgets.analysis import neighbors as neighbors_module
    from linlens_widgets.analysis.over_run import AGREEMENT_K, dynamics_table, over_run
    from linlens_widgets.widgets import _network

    run, _ = real
    folder = run.save(tmp_path / "run")
    for kept in (folder / "analysis").glob("*"):  # tables and panel stored by other tests
        if kept.name.startswith((_network.TABLES_ENTRY, "plots.")):
            kept.unlink()
    saved = ll.Run.load(folder)
    searches: list[bool] = []
    search = neighbors_module.neighbor_table

    def counted(weights, k=10, *, centered=True):
        searches.append(centered)
        return search(weights, k, centered=centered)

    for module in (neighbors_module, agreement_module, _network):
        monkeypatch.setattr(module, "neighbor_table", counted)
    table = dynamics_table(saved, lens=["agreement"], recompute=True, progress=False)
    ids = list(range(len(saved.checkpoints)))
    _network.comparison_tables(saved, ids, progress=False)
    # centred: once per checkpoint for both, and once on the inputs (the panel's baseline)
    assert searches.count(True) == len(ids) + 1
    assert searches.count(False) == len(ids)  # raw: the page's only
    expected = over_run(
        saved,
        ll.metrics.knn_agreement,
        k=AGREEMENT_K,
        n_classes=len(saved.classes),
        progress=False,
    ).stack("overall")
    np.testing.assert_array_equal(table["agreement"], expected)


def test_a_pending_panel_escapes_the_run_folder(real, tmp_path, monkeypatch):
    """The pending line names the run's folder; a folder name holding markup shows as text."""
    from linlens_widgets.widgets import explorer as explorer_module

    run, traj = real
    saved = run.save(tmp_path / "<img src=x onerror=alert(1)>")
    for kept in (saved / "analysis").glob("plots.*"):  # from other tests: the line names none
        kept.unlink()
    monkeypatch.setattr(explorer_module, "LIVE_TABLES_MAX_PROBES", len(run.probe_labels) - 1)
    ex = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)
    text = ex.panel.text.value
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert ex.wait_for_panel(120)


def _predicted(run) -> np.ndarray:
    """Every probe sample's predicted class at every checkpoint, by a forward pass."""
    with torch.no_grad():
        return np.stack(
            [run.model_at(i)(run.probe_inputs).argmax(dim=1).numpy() for i in range(len(run))]
        )


def test_the_explorer_stores_the_predictions_and_the_next_opening_reads_them(
    real, tmp_path, monkeypatch
):
    """The first opening computes the predictions (a forward pass per checkpoint: seconds at
    10,000 probes) and keeps them in the run folder; the next opening reads them instead."""
    from linlens_widgets.analysis.weights import RunWeights

    run, _ = real
    folder = run.save(tmp_path / "run")
    (folder / "analysis" / "predictions.safetensors").unlink(missing_ok=True)
    first = ll.LensExplorer(ll.Run.load(folder), panel=False)
    assert (folder / "analysis" / "predictions.safetensors").is_file()
    np.testing.assert_array_equal(first.embedding._predictions, _predicted(run))

    def no_forward_pass(self, i):
        raise AssertionError("the stored predictions were computed again")

    monkeypatch.setattr(RunWeights, "predictions", no_forward_pass)
    again = ll.LensExplorer(ll.Run.load(folder), panel=False)
    np.testing.assert_array_equal(again.embedding._predictions, _predicted(run))
    assert again.embedding._predictions.dtype == np.uint8


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (np.zeros((2, 5), np.uint8), r"shape \(2, 5\), not \(3, 60\)"),
        (np.full((3, 60), 10, np.uint8), r"class 10, outside 0\.\.9"),
        (np.zeros((3, 60), np.float32), "float32, not integer classes"),
    ],
)
def test_stored_predictions_that_do_not_fit_the_run_are_refused_naming_the_file(
    real, tmp_path, stored, problem
):
    """A predictions entry that matches the run's digests but not its probe samples, checkpoints
    or classes is not shown: a warning names the file and why, and they are computed again."""
    from linlens_widgets.analysis.store import AnalysisStore

    run, _ = real
    folder = run.save(tmp_path / "run")
    loaded = ll.Run.load(folder)
    AnalysisStore(loaded).put("predictions", {"predictions": stored}, {"checkpoint_ids": [0, 1, 2]})
    path = folder / "analysis" / "predictions.safetensors"
    with pytest.warns(UserWarning, match=re.escape(str(path)) + " is not used: .*" + problem):
        ex = ll.LensExplorer(ll.Run.load(folder), panel=False)
    np.testing.assert_array_equal(ex.embedding._predictions, _predicted(run))
    again = ll.LensExplorer(ll.Run.load(folder), panel=False)  # stored anew, correct this time
    np.testing.assert_array_equal(again.embedding._predictions, _predicted(run))


def test_the_panel_needs_no_bokehjs_bundle_beyond_the_one_loaded(real):
    """The notebook gets only the core BokehJS bundle (1.3 MB of the 3.9 MB, sent twice), so
    every model the panel draws must come from it."""
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.resources import Resources

    from linlens_widgets.widgets import panel as metrics_panel

    run, _ = real
    fig = metrics_panel.explorer_figure(run, None, progress=False)
    needed = bundle_for_objs_and_resources([fig], Resources(mode="inline")).js_raw
    loaded = Resources(mode="inline", components=list(metrics_panel.BOKEHJS_COMPONENTS)).js_raw
    assert set(needed) <= set(loaded)
    assert sum(map(len, loaded)) < 1.5e6


def test_a_panel_drawn_later_loads_bokehjs_after_the_cell_and_shows_after_it(
    real, tmp_path, monkeypatch
):
    """A large run's explorer sends BokehJS once its cell has finished (so the script does not
    hold up the scatter's first frame) and shows the drawn panel only after BokehJS, which
    jupyter_bokeh's view needs when it is created."""
    import threading

    import bokeh.io
    import IPython
    from IPython.core.events import EventManager, available_events

    from linlens_widgets.analysis import over_run
    from linlens_widgets.widgets import explorer as explorer_module
    from linlens_widgets.widgets import panel as metrics_panel

    run, traj = real
    saved = run.save(tmp_path / "run")
    for kept in (saved / "analysis").glob("plots.*"):  # from other tests
        kept.unlink()
    monkeypatch.setattr(explorer_module, "LIVE_TABLES_MAX_PROBES", len(run.probe_labels) - 1)
    gate = threading.Event()
    agreement = over_run._LENS_ANALYSES["agreement"]

    def held(run, progress):
        assert gate.wait(120), "the test never released the analysis"
        return agreement(run, progress)

    monkeypatch.setitem(over_run._LENS_ANALYSES, "agreement", held)
    shell = type("Shell", (), {})()
    shell.events = EventManager(shell, available_events)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(metrics_panel, "_BOKEHJS_LOADED", False)
    loads: list[list[str]] = []
    monkeypatch.setattr(
        bokeh.io, "output_notebook", lambda resources, **_: loads.append(resources.components)
    )

    ex = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)
    pending = ex.panel
    ex._repr_mimebundle_()  # the cell displays the explorer
    assert loads == []  # not before the first frame
    gate.set()
    assert ex.wait_for_panel(120) and ex.panel_figure is not None
    assert ex.children[-1] is pending  # drawn, but BokehJS is not in the page yet
    shell.events.trigger("post_execute")  # the cell ends
    assert loads == [["bokeh"]]
    assert ex.children[-1] is ex.panel is not pending
    shell.events.trigger("post_execute")  # the next cell: nothing loaded twice
    assert loads == [["bokeh"]]
    again = ll.LensExplorer(ll.Run.load(saved), trajectory=traj)
    again._repr_mimebundle_()  # BokehJS is in the page: the panel is shown when drawn
    assert again.wait_for_panel(120) and again.children[-1] is again.panel
    assert loads == [["bokeh"]]


def test_the_network_is_sent_when_the_front_end_asks_after_its_first_frame(real, monkeypatch):
    """The first state carries no network payload (42 MB at 10,000 MNIST probes and 20
    checkpoints, which the scatter's first frame does not need); the front end asks for it
    after its first frame, and it is computed and sent once."""
    from linlens_widgets.widgets import compare as compare_module

    run, traj = real
    built: list[int] = []
    live_network = compare_module._live_network

    def counted(*args, **kwargs):
        built.append(1)
        return live_network(*args, **kwargs)

    monkeypatch.setattr(compare_module, "_live_network", counted)
    ex = ll.LensExplorer(run, trajectory=traj, panel=False)
    first = ex.compare.get_state()
    assert first["_network"] is None and first["_network_pending"] is True
    assert built == []
    ex.compare._on_message(ex.compare, {"type": "fetch_network"}, [])
    after = ex.compare.get_state()
    assert after["_network_pending"] is False and "weights" in after["_network"]
    ex.compare._on_message(ex.compare, {"type": "fetch_network"}, [])  # a second view asks too
    assert built == [1]


def test_a_saved_page_never_asks_a_kernel_for_the_network(real, tmp_path):
    """The page carries its own network (or bank of samples): its comparison model has no
    pending network, so the page's front end never sends ``fetch_network``."""
    run, traj = real
    ex = ll.LensExplorer(run, trajectory=traj, panel=False)
    text = ex.save_html(tmp_path / "page.html", panel=False).read_text(encoding="utf-8")
    config = page_config(text)
    compare = config["models"]["compare"]["state"]
    assert "_network_pending" not in compare and "_network" not in compare


def test_the_network_follows_the_cell_that_displays_the_explorer(real, monkeypatch):
    """Without being asked (a notebook executed with no browser, as ``linlens demo`` does), the
    network is sent when the cell that displays the explorer has finished, so the notebook's
    saved widget state carries it; not before, with the first frame."""
    import IPython
    from IPython.core.events import EventManager, available_events

    run, traj = real
    shell = type("Shell", (), {})()
    shell.events = EventManager(shell, available_events)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    ex = ll.LensExplorer(run, trajectory=traj, panel=False)
    ex._repr_mimebundle_()
    assert ex.compare._network is None and ex.compare._network_pending
    shell.events.trigger("post_execute")
    assert ex.compare._network is not None and not ex.compare._network_pending
