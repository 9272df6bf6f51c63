"""Bokeh figures of a run's training dynamics and the offline HTML report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from bokeh.models import ColumnDataSource, CrosshairTool, HoverTool, Line, LinearAxis, Span
from bokeh.plotting import figure

import linlens_widgets as ll
from linlens_widgets import plots
from linlens_widgets.analysis import over_run
from linlens_widgets.analysis.phenomena import neuron_alignment, weight_variation
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights


@pytest.fixture(scope="module")
def run() -> ll.Run:
    """A tiny digits run: 64-16-16-10, two epochs, log-spaced checkpoints."""
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16, 16], data.n_classes, seed=0)
    return ll.train(model, data, epochs=2, checkpoints=6, probe=120, progress=False)


def figures_of(layout: object) -> list[figure]:
    return list(layout.select({"type": figure}))


def test_dynamics_table_has_one_row_per_checkpoint(run: ll.Run) -> None:
    table = plots.dynamics_table(run, progress=False)
    n = len(run.checkpoints)
    classes = range(len(run.classes))
    tracked = {f"{p}_{k}" for p in ("persistence", "separation", "groups") for k in classes}
    assert {"epoch", "step", "intra", "inter"} | tracked <= set(table)
    assert all(len(values) == n for values in table.values())
    np.testing.assert_allclose(table["epoch"], [c.epoch for c in run.checkpoints])
    assert np.all(np.abs(table["intra"]) <= 1 + 1e-6) and np.all(np.abs(table["inter"]) <= 1 + 1e-6)
    tracks = ll.metrics.track_all_subclusters(run, progress=False)  # attached: not recomputed
    for k, track in enumerate(tracks.values()):
        np.testing.assert_allclose(table[f"persistence_{k}"], track.persistence)
        np.testing.assert_allclose(table[f"separation_{k}"], track.separation)
        assert np.all(table[f"groups_{k}"] == track.k)
        if track.k > 1:  # the groups are found at the last checkpoint: they agree with it
            assert table[f"persistence_{k}"][-1] == pytest.approx(1.0)
    for name in run.checkpoints[-1].metrics:
        assert table[name][-1] == pytest.approx(run.checkpoints[-1].metrics[name])


def test_the_lens_analysis_is_cached_on_the_run(
    run: ll.Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = plots.dynamics_table(run, progress=False)
    assert "plots.similarity" in AnalysisStore(run)
    assert "plots.subclusters" in AnalysisStore(run)

    def no_recompute(*args: object, **kwargs: object) -> None:
        raise AssertionError("per-checkpoint analysis recomputed")

    monkeypatch.setattr(over_run, "over_run", no_recompute)
    again = plots.dynamics_table(run, progress=False)
    np.testing.assert_array_equal(again["intra"], first["intra"])
    plots.training_dynamics(run, progress=False)  # no recomputation either


def test_the_sub_cluster_panels_highlight_one_and_list_every_class(run: ll.Run) -> None:
    figs = figures_of(plots.training_dynamics(run, progress=False))
    by_title = {f.title.text.split(" (")[0]: f for f in figs}
    persistence = by_title["Sub-cluster persistence"]
    separation = by_title["Sub-cluster separation"]
    for fig, prefix in ((persistence, "persistence"), (separation, "separation")):
        lines = {r.glyph.y: r.glyph for r in fig.renderers if isinstance(r.glyph, Line)}
        assert set(lines) == {f"{prefix}_{k}" for k in range(len(run.classes))}
        widths = {y: g.line_width for y, g in lines.items()}
        assert widths[f"{prefix}_1"] == max(widths.values()) > min(widths.values())
        labels = [item.label.value for item in fig.legend[0].items]
        assert any(label.startswith("class 1 (") and "group" in label for label in labels)
        assert not any("'" in label for label in labels)  # legends without quotes


def test_a_stale_sub_cluster_count_attachment_is_recomputed(run: ll.Run) -> None:
    key = {"version": ll.__version__, "checkpoints": [c.step for c in run.checkpoints]}
    counts = {f"subclusters_{k}": np.ones(len(run.checkpoints)) for k in range(10)}
    AnalysisStore(run).put("plots.subclusters", counts, {"key": key})  # an earlier version's
    table = plots.dynamics_table(run, progress=False)
    assert "persistence_1" in table and "subclusters_1" not in table


def test_the_cache_survives_save_and_load(run: ll.Run, tmp_path: Path) -> None:
    expected = plots.dynamics_table(run, progress=False)
    run.save(tmp_path / "r")
    loaded = ll.Run.load(tmp_path / "r")
    assert "plots.subclusters" in AnalysisStore(loaded)
    np.testing.assert_allclose(plots.dynamics_table(loaded)["inter"], expected["inter"])


def test_training_dynamics_links_five_panels(run: ll.Run) -> None:
    layout = plots.training_dynamics(run, progress=False)
    figs = figures_of(layout)
    assert len(figs) == 5
    assert len({id(f.x_range) for f in figs}) == 1  # one shared x axis
    sources = {id(r.data_source) for f in figs for r in f.renderers}
    assert len(sources) == 1  # one source: hovering a checkpoint highlights it in every panel
    [source] = {r.data_source for r in figs[0].renderers}
    assert isinstance(source, ColumnDataSource)
    assert len(source.data["x"]) == len(run.checkpoints)
    overlays = {id(t.overlay) for f in figs for t in f.tools if isinstance(t, CrosshairTool)}
    assert len(overlays) == 1  # the crosshair moves in every panel at once
    assert all(any(isinstance(t, HoverTool) for t in f.tools) for f in figs)
    drawn = {r.glyph.y for f in figs for r in f.renderers}
    assert {"intra", "inter", "persistence_1", "separation_1", "test_acc"} <= drawn
    assert {"agreement", "agreement_input", "agreement_class_9"} <= drawn
    assert len({f.frame_width for f in figs}) == 1  # x positions line up across panels


def test_x_axis_is_log_for_log_spaced_checkpoints() -> None:
    epochs = np.array([0, 0.01, 0.02, 0.05, 0.2, 1, 5])
    assert plots.resolve_x_scale(epochs, "auto") == "log"
    assert plots.resolve_x_scale(np.arange(6.0), "auto") == "linear"
    x = plots.plot_x(epochs, "log")
    assert x[0] == pytest.approx(0.005) and np.all(x[1:] == epochs[1:])
    with pytest.raises(ValueError, match="x_scale"):
        plots.resolve_x_scale(epochs, "symlog")


def test_metric_panel_has_a_named_epoch_cursor(run: ll.Run) -> None:
    fig = plots.metric_panel(run, ["intra", "inter"])
    cursor = fig.select_one({"name": "epoch-cursor"})
    assert isinstance(cursor, Span) and cursor.dimension == "height"
    # x is the checkpoint position (as on the slider); the cursor starts at the last one
    assert cursor.location == pytest.approx(len(run.checkpoints) - 1)
    moved = plots.metric_panel(run, ["inter"], epoch=run.checkpoints[1].epoch)
    assert moved.select_one({"name": "epoch-cursor"}).location == pytest.approx(1)
    linear = plots.metric_panel(run, ["inter"], x_scale="linear")
    assert linear.select_one({"name": "epoch-cursor"}).location == pytest.approx(
        run.checkpoints[-1].epoch
    )
    with pytest.raises(KeyError, match="accuracy_of_nothing"):
        plots.metric_panel(run, ["accuracy_of_nothing"])


def test_metric_panel_computes_only_what_it_draws() -> None:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [8], data.n_classes, seed=0)
    fresh = ll.train(model, data, epochs=1, checkpoints=3, probe=100, progress=False)
    plots.metric_panel(fresh, ["test_acc", "intra"], progress=False)
    assert AnalysisStore(fresh).names == ["plots.similarity"]
    with pytest.raises(ValueError, match="unknown lens analysis"):
        plots.dynamics_table(fresh, lens=["curvature"])


def test_metric_panel_draws_the_phenomena() -> None:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16], data.n_classes, bias=True, seed=0)
    fresh = ll.train(model, data, epochs=1, checkpoints=3, probe=60, progress=False)
    names = ["alignment", "local_complexity", "weight_variation"]
    fig = plots.metric_panel(fresh, names, progress=False)
    source = fig.select_one({"name": "checkpoints"})
    # computed independently of what the panel stored: per checkpoint, from the models
    models = [fresh.model_at(i) for i in range(len(fresh))]
    alignment = [neuron_alignment(m) for m in models]
    variation = [weight_variation(run_weights(fresh).effective_weights(i)) for i in range(3)]
    np.testing.assert_allclose(source.data["alignment"], alignment, rtol=1e-6)
    np.testing.assert_allclose(source.data["weight_variation"], variation, rtol=1e-6)
    complexity = ll.metrics.phenomena_over_run(
        fresh, which=("local_complexity",), progress=False, recompute=True
    )
    np.testing.assert_allclose(
        source.data["local_complexity"], complexity["local_complexity"], rtol=1e-6
    )
    assert np.all(np.asarray(source.data["local_complexity"]) > 0)
    assert "plots.subclusters" not in AnalysisStore(fresh)


def test_report_is_a_standalone_offline_page(
    run: ll.Run, tmp_path: Path, assert_offline_html: Callable[[Path], str]
) -> None:
    path = plots.report(run, tmp_path / "out" / "report.html", title="Tiny digits run")
    html = assert_offline_html(path)
    assert "<title>Tiny digits run</title>" in html
    assert "Bokeh" in html and len(html) > 200_000  # BokehJS is inlined, not linked


def test_metric_panel_x_is_the_slider_spacing_with_epoch_labels(run: ll.Run) -> None:
    fig = plots.metric_panel(run, ["test_acc", "intra"])
    xs = fig.select_one({"name": "checkpoints"}).data["x"]
    assert xs == list(range(len(run.checkpoints)))
    overrides = fig.xaxis[0].major_label_overrides
    assert overrides[0] == f"{run.checkpoints[0].epoch:.3g}"
    assert overrides[len(xs) - 1] == f"{run.checkpoints[-1].epoch:.3g}"


def test_metric_panel_labels_one_y_axis_per_kind(run: ll.Run) -> None:
    fig = plots.metric_panel(run, ["train_loss", "test_acc", "intra", "inter"])
    labels = {fig.yaxis[0].axis_label} | {
        a.axis_label for a in fig.right if isinstance(a, LinearAxis)
    }
    assert {"loss", "accuracy", "centred cosine"} <= labels
    assert set(fig.extra_y_ranges) == {"accuracy", "cosine"}


def test_one_colour_per_metric_from_the_contract(run: ll.Run) -> None:
    contract = json.loads((Path(ll.__file__).parent / "widgets" / "contract.json").read_text())
    fig = plots.metric_panel(run, ["train_loss", "test_acc", "intra"])
    drawn = {r.glyph.y: r.glyph.line_color for r in fig.renderers if isinstance(r.glyph, Line)}
    for name, color in drawn.items():
        assert color == contract["palettes"]["metrics"][name]
    cursor = fig.select_one({"name": "epoch-cursor"})
    assert cursor.line_color == contract["cursor_color"]
    assert cursor.line_color not in drawn.values()
    assert (
        plots.metric_colors(["test acc"])["test acc"] == contract["palettes"]["metrics"]["test_acc"]
    )


def test_the_agreement_columns_are_the_knn_agreement_of_weights_and_inputs(run: ll.Run) -> None:
    table = plots.dynamics_table(run, lens=["agreement"], progress=False)
    series = ll.metrics.over_run(run, ll.metrics.knn_agreement, source="weights", progress=False)
    np.testing.assert_allclose(table["agreement"], series.stack("overall"))
    for k in range(len(run.classes)):
        np.testing.assert_allclose(table[f"agreement_class_{k}"], series.stack("per_class")[:, k])
    baseline = ll.metrics.knn_agreement(run.probe_inputs, run.probe_labels, k=10)
    np.testing.assert_allclose(table["agreement_input"], baseline.overall)
    assert "plots.agreement" in AnalysisStore(run)


def test_the_metrics_panel_shows_agreement_beside_the_similarity(run: ll.Run) -> None:
    fig = plots.metric_panel(run, progress=False)
    drawn = {r.glyph.y for r in fig.renderers if isinstance(r.glyph, Line)}
    assert {"intra", "inter", "agreement", "agreement_input", "test_acc"} <= drawn
    labels = {fig.yaxis[0].axis_label} | {
        a.axis_label for a in fig.right if isinstance(a, LinearAxis)
    }
    assert "accuracy · kNN agreement" in labels  # both are shares of samples: one axis
    only = plots.metric_panel(run, ["agreement"], progress=False)
    assert only.yaxis[0].axis_label == "kNN agreement"


def test_a_recorded_metric_never_takes_an_agreement_column() -> None:
    assert plots.metric_column("agreement") == "metric.agreement"
    assert plots.metric_column("agreement_class_3") == "metric.agreement_class_3"
