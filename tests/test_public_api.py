"""The flat public namespace: every advertised name resolves, and nothing heavy loads on import."""

from __future__ import annotations

import subprocess
import sys

import linlens_widgets as ll


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert sorted(ll.__all__) == sorted(["__version__", *ll._EXPORTS])


def test_run_weights_is_public() -> None:
    from linlens_widgets.analysis.weights import RunWeights, run_weights

    assert ll.run_weights is run_weights and "run_weights" in ll.__all__
    assert isinstance(ll.run_weights(_tiny_run()), RunWeights)


def _tiny_run() -> ll.Run:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [4], data.n_classes)
    recorder = ll.Recorder(model, data, probe=8)
    recorder.snapshot(epoch=0, step=0)
    return recorder.run


def test_every_public_name_resolves() -> None:
    for name in ll.__all__:
        assert getattr(ll, name) is not None, name


def test_unknown_name_raises_attribute_error() -> None:
    try:
        ll.not_a_name  # noqa: B018
    except AttributeError as err:
        assert "not_a_name" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_torch() -> None:
    code = "import sys, linlens_widgets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_metrics_gathers_the_phenomena() -> None:
    from linlens_widgets.analysis import phenomena

    for name in ("neuron_alignment", "local_complexity", "weight_variation", "phenomena_over_run"):
        assert getattr(ll.metrics, name) is getattr(phenomena, name)
