"""SweepExplorer: the epoch alignment, the run choice, the shared-probe check, and a real sweep.

The pure functions are tested on small literals; the widget on a three-run digits sweep written
by the sweep's own task function (no cluster), where one run has other checkpoints and one has
no stored embedding.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.sweeps import record, task
from linlens_widgets.widgets.contract import CONTRACT
from linlens_widgets.widgets.palettes import parameter_colors
from linlens_widgets.widgets.sweep_align import (
    align_checkpoints,
    check_shared_probe,
    choose_runs,
    common_epochs,
)
from tests.helpers.offline import page_config
from tests.widgets.conftest import FakeRun, Sent

# ---------------------------------------------------------------------- the epoch alignment


def test_common_axis_is_the_union_of_the_runs_epochs() -> None:
    axis = common_epochs([[0.0, 0.1, 1.0], [0.0, 0.5, 1.0 + 1e-12], [0.0, 1.0]])
    assert axis.tolist() == [0.0, 0.1, 0.5, 1.0]
    with pytest.raises(ValueError, match="at least one checkpoint"):
        common_epochs([[0.0], []])


def test_each_run_shows_its_latest_checkpoint_at_or_before_the_epoch() -> None:
    run = [0.0, 0.25, 1.0]
    axis = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0]
    assert align_checkpoints(run, axis).tolist() == [0, 0, 1, 1, 2, 2]
    # float noise on an equal epoch still counts as "at"
    assert align_checkpoints([0.0, 0.1 + 0.2], [0.3]).tolist() == [1]
    # an axis epoch before the run's first checkpoint shows that first checkpoint
    assert align_checkpoints([0.5, 1.0], [0.0, 0.5]).tolist() == [0, 0]


def test_alignment_refuses_unordered_or_empty_epochs() -> None:
    with pytest.raises(ValueError, match="ascending"):
        align_checkpoints([1.0, 0.5], [0.0])
    with pytest.raises(ValueError, match="no checkpoints"):
        align_checkpoints([], [0.0])


# ---------------------------------------------------------------------- which runs, which colours


def test_runs_are_chosen_at_the_first_seed_ordered_by_the_parameter() -> None:
    params = [{"init_scale": s, "seed": seed} for seed in (3, 4) for s in (1.0, 0.001, 0.1)]
    assert choose_runs(params, "init_scale") == [1, 2, 0]
    assert choose_runs(params, "init_scale", max_panels=2) == [1, 2]
    assert choose_runs(params, "seed", max_panels=4) == [0, 1, 2, 3]  # every seed kept
    with pytest.raises(ValueError, match="color_by='width' is not a grid parameter"):
        choose_runs(params, "width")
    with pytest.raises(ValueError, match="max_panels"):
        choose_runs(params, "seed", max_panels=0)


def test_other_parameters_stay_when_there_is_no_seed() -> None:
    params = [{"bias": b, "data": d} for d in ("symmetric", "shifted") for b in (True, False)]
    assert choose_runs(params, "bias") == [1, 3, 0, 2]


def test_colours_follow_the_parameter() -> None:
    sequential = CONTRACT["palettes"]["sequential"]
    assert parameter_colors([0.001, 0.01, 1.0])[0] == sequential[0]
    assert parameter_colors([0.001, 0.01, 1.0])[-1] == sequential[-1]
    mid = parameter_colors([1e-3, 3.16e-2, 1.0])[1]  # halfway on a log scale: the middle stop
    assert mid == sequential[len(sequential) // 2]
    classes = CONTRACT["palettes"]["classes"]
    assert parameter_colors(["a", "b", "a"]) == [classes[0], classes[1], classes[0]]


def test_runs_with_other_probes_are_refused() -> None:
    same = [FakeRun(), FakeRun()]
    check_shared_probe(same, ["a", "b"])
    other = FakeRun()
    other.probe_inputs = other.probe_inputs.clone()
    other.probe_inputs[3, 0] += 1.0
    with pytest.raises(ValueError, match="runs 'a' and 'c' have different probe samples"):
        check_shared_probe([same[0], same[1], other], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"different probes \(24 vs 12 samples\)"):
        check_shared_probe([same[0], FakeRun(n=12)], ["a", "b"])


# ---------------------------------------------------------------------- a real sweep


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tiny digits runs: two init scales at seed 0 (one with more checkpoints), one seed 1.

    The run with more checkpoints has no stored embedding, so the explorer computes it.
    """
    out = tmp_path_factory.mktemp("sweep")
    data = ll.datasets.digits()
    make = functools.partial(ll.models.mlp, 64, [8], 10)
    points = [
        ({"init_scale": 1.0, "seed": 0}, 3, ["embed"]),
        ({"init_scale": 0.01, "seed": 0}, 5, []),
        ({"init_scale": 0.01, "seed": 1}, 3, ["embed"]),
    ]
    entries = []
    for params, n_checkpoints, analyses in points:
        settings = {
            "train_kwargs": {"epochs": 1, "checkpoints": n_checkpoints},
            "analyses": analyses,
        }
        name = f"init_scale={params['init_scale']}__seed={params['seed']}"
        entries.append(task.run_point(make, data, name, params, settings, str(out / name)))
    assert [e["status"] for e in entries] == ["ok"] * 3, entries
    record.write_record(out, {"train_kwargs": {}, "analyses": []}, entries)
    return out


@pytest.fixture(scope="module")
def explorer(sweep_dir: Path) -> ll.SweepExplorer:
    return ll.SweepExplorer(ll.Sweep.load(sweep_dir), color_by="init_scale")


@pytest.mark.slow
def test_missing_embeddings_are_computed_and_said(sweep_dir: Path, capsys) -> None:
    ex = ll.SweepExplorer(ll.Sweep.load(sweep_dir), color_by="init_scale")
    out = capsys.readouterr().out
    assert "1 of 2 runs have no stored embedding (init_scale=0.01, seed=0)" in out
    assert len(ex.trajectories[0].positions) == 5


@pytest.mark.slow
def test_one_panel_per_init_scale_at_the_first_seed(explorer: ll.SweepExplorer) -> None:
    assert [p["name"] for p in explorer.layout_widget._panels] == [
        "init_scale=0.01__seed=0",
        "init_scale=1.0__seed=0",
    ]
    assert [p["value"] for p in explorer.layout_widget._panels] == [0.01, 1.0]
    assert len(explorer.embeddings) == 2
    metric = explorer.layout_widget._metric
    assert metric["yLabel"] == "test_acc" and len(metric["series"]) == 3  # every completed run
    sweep = explorer.sweep
    values = [p["init_scale"] for p in sweep.params]
    assert [s["color"] for s in metric["series"]] == parameter_colors(values)
    every = np.concatenate([[c.epoch for c in r.checkpoints] for r in sweep.runs])
    # the package's one axis rule decides the chart's axis
    assert metric["xScale"] == ll.plots.resolve_x_scale(np.append(every, explorer.epochs), "auto")
    assert len(metric["cursor"]) == len(explorer.epochs)


@pytest.mark.slow
def test_the_scrubber_walks_the_common_epoch_axis(explorer: ll.SweepExplorer) -> None:
    runs = explorer.runs
    run_epochs = [[c.epoch for c in r.checkpoints] for r in runs]
    assert len(run_epochs[0]) == 5 and len(run_epochs[1]) == 3
    assert explorer.scrubber.n_checkpoints == len(explorer.epochs) >= 5
    assert explorer.epochs.tolist() == sorted(set(run_epochs[0]) | set(run_epochs[1]))
    for k, epoch in enumerate(explorer.epochs):
        explorer.checkpoint = k
        for view, epochs in zip(explorer.embeddings, run_epochs, strict=True):
            shown = epochs[view.checkpoint]
            later = [e for e in epochs if e <= epoch + 1e-12]
            assert shown == later[-1], (k, epoch, epochs)
    spark = explorer.scrubber._series  # the metric of each panel, along the axis
    assert [len(sp["values"]) for sp in spark] == [len(explorer.epochs)] * 2
    for sp, run, m in zip(spark, runs, explorer.mapping, strict=True):
        assert sp["values"] == [run.checkpoints[int(k)].metrics["test_acc"] for k in m]
    explorer.epoch = 0.0
    assert [v.checkpoint for v in explorer.embeddings] == [0, 0]
    assert explorer.scrubber.frame["epoch"] == 0.0


@pytest.mark.slow
def test_the_comparison_shows_one_sample_in_both_runs(
    explorer: ll.SweepExplorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = len(explorer.runs[0].probe_labels)
    explorer.compare_sample(7)
    assert (explorer.compare.a, explorer.compare.b) == ([7], [n + 7])
    k = 1
    explorer.checkpoint = k
    a_ckpt = explorer.mapping[0][k]
    b_ckpt = explorer.mapping[1][k]
    wa = explorer.compare.weights(7, k)["weight"]
    wb = explorer.compare.weights(n + 7, k)["weight"]
    expect_a = (
        run_weights(explorer.runs[0]).effective_weights(int(a_ckpt)).weight[7].flatten(1).numpy()
    )
    expect_b = (
        run_weights(explorer.runs[1]).effective_weights(int(b_ckpt)).weight[7].flatten(1).numpy()
    )
    np.testing.assert_allclose(wa, expect_a, rtol=1e-6)
    np.testing.assert_allclose(wb, expect_b, rtol=1e-6)
    assert not np.allclose(wa, wb)  # small vs standard init: other weights
    # the front end's fetch for B's copy is answered with run B's weights
    sent = Sent(explorer.compare, monkeypatch)
    explorer.compare._on_message(None, {"type": "fetch", "sample": n + 7, "checkpoint": k}, [])
    ((head, buffers),) = sent.messages
    assert (head["type"], head["sample"], head["checkpoint"]) == ("sample", n + 7, k)
    names = [a["name"] for a in head["arrays"]]
    weight = np.frombuffer(bytes(buffers[names.index("weight")]), np.float32)
    np.testing.assert_allclose(weight.reshape(expect_b.shape), expect_b, rtol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        explorer.compare_sample(n)


@pytest.mark.slow
def test_selection_is_shared_and_runs_can_be_swapped(explorer: ll.SweepExplorer) -> None:
    explorer.selection = [3, 9]
    assert [v.selection for v in explorer.embeddings] == [[3, 9], [3, 9]]
    explorer.compare_across(1, 0)
    assert explorer.layout_widget.compare_runs == [1, 0]
    assert explorer.pair.run_a is explorer.runs[1]
    explorer.compare_across(0, 1)
    with pytest.raises(ValueError, match="out of range"):
        explorer.compare_across(0, 2)


@pytest.mark.slow
def test_named_runs_and_bad_names(sweep_dir: Path) -> None:
    sw = ll.Sweep.load(sweep_dir)
    ex = ll.SweepExplorer(sw, runs=["init_scale=0.01__seed=1", 0], color_by="seed")
    assert [p["name"] for p in ex.layout_widget._panels] == [
        "init_scale=0.01__seed=1",
        "init_scale=1.0__seed=0",
    ]
    with pytest.raises(ValueError, match="no completed run 'nope'"):
        ll.SweepExplorer(sw, runs=["nope"])
    with pytest.raises(ValueError, match="metric 'nope'"):
        ll.SweepExplorer(sw, metric="nope")


def _page_config(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text  # everything inlined
    return page_config(text)


@pytest.mark.slow
def test_saved_page_carries_both_networks_on_the_common_axis(
    explorer: ll.SweepExplorer, tmp_path: Path
) -> None:
    config = _page_config(explorer.save_html(tmp_path / "sweep.html"))
    kinds = sorted(m["kind"] for m in config["models"].values())
    assert kinds == ["compare", "embedding", "embedding", "scrubber", "sweep"]
    assert config["root"] == "sweep" and "bank" not in config
    networks = config["networks"]
    assert len(networks) == 2
    for payload in networks:  # checkpoint k of each network is position k of the common axis
        assert len(payload["weights"]) == len(explorer.epochs)
        assert "probe_mean" in payload and "neighbors" in payload
    layout = config["models"]["sweep"]["state"]
    assert layout["embeddings"] == ["IPY_MODEL_embedding0", "IPY_MODEL_embedding1"]


@pytest.mark.slow
def test_saved_page_without_portable_networks_stores_both_runs_samples(
    explorer: ll.SweepExplorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linlens_widgets.widgets import sweep_page

    monkeypatch.setattr(sweep_page, "_pair_networks", lambda ex: None)
    n = len(explorer.runs[0].probe_labels)
    explorer.compare_sample(5)
    path = explorer.save_html(tmp_path / "sweep.html", max_samples=4)
    config = _page_config(path)
    assert "networks" not in config
    bank = config["bank"]
    samples = np.frombuffer(base64.b64decode(bank["samples"]["b64"]), bank["samples"]["dtype"])
    half = samples[samples < n]
    assert 5 in half and sorted(samples[samples >= n] - n) == sorted(half)
    assert bank["weight"]["shape"][1] == len(explorer.epochs)
    assert bank["probe_mean"]["shape"][0] == len(explorer.epochs)  # centred without a kernel
    assert bank["pair_size"] == n
    # the note counts probe samples once, as the page's refusal does
    assert f"works for the {len(half)} samples stored here" in path.read_text(encoding="utf-8")


def test_docstring_examples_hold() -> None:
    import doctest

    from linlens_widgets.widgets import sweep_align, sweep_explorer

    attempted = 0
    for module in (sweep_align, sweep_explorer):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted >= 5


def test_the_pair_keeps_recent_positions_within_its_byte_bound() -> None:
    from linlens_widgets.widgets.sweep_pair import RunPair

    a, b = FakeRun(), FakeRun()
    calls: list[int] = []
    original = a.effective_weights

    def counted(i: int):
        calls.append(i)
        return original(i)

    a.effective_weights = counted
    pair = RunPair(a, b, [0, 1, 2], [0, 0, 1], [0.0, 1.0, 2.0])
    ew = pair.effective_weights(1)
    assert ew.weight.shape[0] == 2 * a.n
    assert torch.equal(ew.weight[a.n :], b.effective_weights(0).weight)
    pair.effective_weights(2)
    pair.effective_weights(1)
    assert calls == [1, 2]  # both kept
    pair.CACHE_BYTES = ew.weight.numel() * 4  # room for one position only
    pair.effective_weights(0)
    pair.effective_weights(1)
    assert calls == [1, 2, 0, 1]
