"""RunSource: the run's weights, the two-run adapter and the test double are one protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.source import RunSource, source_of
from linlens_widgets.widgets.sweep_pair import RunPair

from .conftest import FakeRun


def _tiny_run() -> ll.Run:
    data = ll.datasets.digits()
    recorder = ll.Recorder(ll.models.mlp(data.n_features, [4], data.n_classes), data, probe=12)
    recorder.snapshot(epoch=0, step=0)
    return recorder.run


def test_a_run_becomes_its_weights_and_reads_the_same_facts() -> None:
    run = _tiny_run()
    assert not isinstance(run, RunSource)  # the record computes nothing itself
    source = source_of(run)
    assert isinstance(source, RunSource) and source is ll.run_weights(run)
    assert source.probe_inputs is run.probe_inputs and source.probe_labels is run.probe_labels
    assert source.classes == tuple(run.classes) and source.input_shape == run.input_shape
    assert source.checkpoints == run.checkpoints
    assert source.predictions(0).shape == (12,)


def test_the_test_double_is_a_source_as_it_is(run: FakeRun) -> None:
    assert isinstance(run, RunSource) and source_of(run) is run
    features = run.weight_features(2)
    weight = run.effective_weights(2).weight.flatten(1)
    assert torch.allclose(features @ features.T, weight @ weight.T)


def test_anything_else_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="expected a Run or a RunSource, got list"):
        source_of([1, 2, 3])


def test_the_run_pair_is_a_source_over_both_runs(run: FakeRun) -> None:
    other = FakeRun()
    pair = RunPair(run, other, [0, 4], [1, 3], [0.0, 1.0])
    assert isinstance(pair, RunSource)
    assert pair.input_shape == (1, 4, 4) and len(pair.checkpoints) == 2
    features = pair.weight_features(1)
    expected = np.concatenate(
        [run.effective_weights(4).weight.flatten(1), other.effective_weights(3).weight.flatten(1)]
    )
    np.testing.assert_allclose(features, expected)
    assert pair.predictions(1).shape == (2 * run.n,)


def test_the_store_is_the_run_s_and_a_source_without_one_keeps_nothing(run: FakeRun) -> None:
    from linlens_widgets.analysis.store import AnalysisStore
    from linlens_widgets.widgets import _sources

    recorded = _tiny_run()
    store = source_of(recorded).store
    assert isinstance(store, AnalysisStore) and store.run is recorded
    assert _sources.store_analysis(recorded, "probe", {"x": np.zeros(2)}, {"k": 1}) is False
    assert _sources.analysis_entry(recorded, "probe")[1] == {"k": 1}  # kept in memory
    assert run.store is None and RunPair(run, FakeRun(), [0], [0], [0.0]).store is None
    assert _sources.store_analysis(run, "probe", {"x": np.zeros(2)}, {}) is False
    assert _sources.analysis_entry(run, "probe") is None
