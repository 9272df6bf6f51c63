import numpy as np
import pytest

import linlens_widgets as ll
from tests.widgets.conftest import FakeRun, Sent


def _decode(content, buffers):
    return {
        spec["name"]: np.frombuffer(buf, spec["dtype"]).reshape(spec["shape"])
        for spec, buf in zip(content["arrays"], buffers, strict=True)
    }


def test_fetch_answers_with_float32_buffers(run, monkeypatch):
    cmp = ll.WeightCompare(run, 2, 7, checkpoint=1)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch", "sample": 7, "checkpoint": 3}, [])
    ((content, buffers),) = sent.messages
    assert content["type"] == "sample" and content["sample"] == 7 and content["checkpoint"] == 3
    assert content["label"] == int(run.probe_labels[7])
    arrays = _decode(content, buffers)
    ew = run.effective_weights(3)
    np.testing.assert_allclose(arrays["weight"], ew.weight[7].reshape(3, 16).numpy(), rtol=1e-6)
    np.testing.assert_allclose(arrays["bias"], ew.bias[7].numpy(), rtol=1e-6)
    np.testing.assert_allclose(arrays["input"], run.probe_inputs[7].numpy(), rtol=1e-6)
    assert all(spec["dtype"] == "float32" for spec in content["arrays"])
    assert sum(b.nbytes for b in buffers) < 4096  # a few KB, not a PNG


def test_network_without_bias_sends_no_bias(monkeypatch):
    run = FakeRun(bias=False)
    cmp = ll.WeightCompare(run)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch", "sample": 0, "checkpoint": 0}, [])
    names = [s["name"] for s in sent.messages[0][0]["arrays"]]
    assert names == ["input", "weight", "output"]


def test_fetch_of_bad_sample_answers_an_error_message(run, monkeypatch):
    cmp = ll.WeightCompare(run)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch", "sample": 999, "checkpoint": 0}, [])
    content, _ = sent.messages[0]
    assert content["type"] == "error" and "999" in content["message"]


def test_cosine_overall_and_per_class(run):
    cmp = ll.WeightCompare(run, 0, 1, checkpoint=2)
    wa = run.effective_weights(2).weight[0].reshape(3, -1).double().numpy()
    wb = run.effective_weights(2).weight[1].reshape(3, -1).double().numpy()
    cos = cmp.cosine()
    expected = wa.ravel() @ wb.ravel() / np.linalg.norm(wa) / np.linalg.norm(wb)
    assert cos["overall"] == pytest.approx(expected)
    for k in range(3):
        exp_k = wa[k] @ wb[k] / np.linalg.norm(wa[k]) / np.linalg.norm(wb[k])
        assert cos["per_class"][k] == pytest.approx(exp_k)


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("sample_a", 24, "sample_a 24 is out of range"),
        ("sample_b", -1, "sample_b -1 is out of range"),
        ("checkpoint", 7, "checkpoint index 7 is out of range"),
        ("classes", [0, 3], "classes index 3"),
    ],
)
def test_invalid_values_are_named(run, trait, value, match):
    cmp = ll.WeightCompare(run)
    with pytest.raises(ValueError, match=match):
        setattr(cmp, trait, value)


def test_constructor_validates_samples(run):
    with pytest.raises(ValueError, match="sample_b 50"):
        ll.WeightCompare(run, 0, 50)


def test_state_for_the_front_end(run):
    cmp = ll.WeightCompare(run, 1, 2, classes=[2, 0])
    assert cmp._image_shape == [4, 4] and cmp._n_samples == run.n and cmp._n_outputs == 3
    assert cmp.classes == [0, 2]
    assert len(cmp._checkpoint_labels) == len(run.checkpoints)


def test_checkpoint_subset_maps_positions(run):
    cmp = ll.WeightCompare(run, checkpoints=[0, 2, 4], checkpoint=1)
    assert cmp.checkpoint_of() == 2
    np.testing.assert_allclose(
        cmp.weights(0)["weight"], run.effective_weights(2).weight[0].reshape(3, -1).numpy()
    )
    with pytest.raises(ValueError, match="checkpoint index 9"):
        ll.WeightCompare(run, checkpoints=[9])
    assert ll.WeightCompare(run, checkpoints=[-1]).checkpoint_ids.tolist() == [4]
