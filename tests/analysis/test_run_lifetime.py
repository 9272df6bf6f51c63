"""A run the caller lets go is freed with everything computed from it.

Each run's effective weights, features and predictions live in its ``RunWeights`` (one per run,
kept in a registry keyed weakly by the run). A ``RunWeights`` that held its run strongly kept
the registry's key alive, so every run ever analysed stayed in memory with its feature cache
(hundreds of megabytes each): the paper's pipeline kept the trained run's cache through the
page stage.
"""

from __future__ import annotations

import gc
import weakref

import pytest

import linlens_widgets as ll
from linlens_widgets.analysis.source import source_of
from linlens_widgets.analysis.subcluster_tracking import track_all_subclusters
from linlens_widgets.analysis.weights import RunWeights, run_weights


def _analysed_run() -> tuple[weakref.ref, weakref.ref]:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16], data.n_classes, bias=False, seed=0)
    run = ll.train(model, data, epochs=1, checkpoints=2, probe=80, progress=False, seed=0)
    weights = run_weights(run)
    weights.weight_features(0)
    weights.predictions(1)
    track_all_subclusters(run, progress=False)
    assert source_of(run) is weights  # one instance per run, shared
    return weakref.ref(run), weakref.ref(weights)


def test_an_analysed_run_is_freed_once_the_caller_lets_it_go() -> None:
    run, weights = _analysed_run()
    gc.collect()
    assert run() is None, "the run outlived every reference to it"
    assert weights() is None, "its RunWeights (and feature cache) outlived the run"


def test_the_shared_instance_says_when_its_run_is_gone() -> None:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [8], data.n_classes, bias=False, seed=0)
    weights = run_weights(ll.train(model, data, epochs=1, checkpoints=2, probe=20, progress=False))
    gc.collect()
    with pytest.raises(ReferenceError, match="keep a reference to the run"):
        weights.weight_features(0)


def test_a_run_weights_made_by_hand_keeps_its_run() -> None:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [8], data.n_classes, bias=False, seed=0)
    weights = RunWeights(ll.train(model, data, epochs=1, checkpoints=2, probe=20, progress=False))
    gc.collect()
    assert weights.weight_features(1).shape[0] == 20
