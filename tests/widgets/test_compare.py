import numpy as np
import pytest
import traitlets

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


def test_raw_cosine_overall_and_per_class(run):
    cmp = ll.WeightCompare(run, 0, 1, checkpoint=2)
    wa = run.effective_weights(2).weight[0].reshape(3, -1).double().numpy()
    wb = run.effective_weights(2).weight[1].reshape(3, -1).double().numpy()
    cos = cmp.cosine(similarity="raw")
    expected = wa.ravel() @ wb.ravel() / np.linalg.norm(wa) / np.linalg.norm(wb)
    assert cos["overall"] == pytest.approx(expected) and cos["similarity"] == "raw"
    for k in range(3):
        exp_k = wa[k] @ wb[k] / np.linalg.norm(wa[k]) / np.linalg.norm(wb[k])
        assert cos["per_class"][k] == pytest.approx(exp_k)
    cmp.similarity = "raw"
    assert cmp.cosine()["overall"] == pytest.approx(expected)


def test_default_cosine_is_the_centred_one_of_class_similarity(run):
    run._weights = [w + 2.0 for w in run._weights]  # a shared component, as in trained networks
    cmp = ll.WeightCompare(run, 3, 10, checkpoint=2)
    ew = run.effective_weights(2)
    mean = ll.metrics.probe_mean(ew)
    expected = ll.metrics.centred_cosine(ew.weight[3], ew.weight[10], mean)
    cos = cmp.cosine()
    assert cos["similarity"] == "centred"
    assert cos["overall"] == pytest.approx(expected, abs=1e-9)
    assert cmp.cosine(similarity="raw")["overall"] > 0.7 > 0.3 > abs(cos["overall"])
    # class_similarity of a probe made of exactly these two samples' pair, centred the same way:
    # the mean over all probe pairs of one class is the mean of these centred cosines.
    w = ew.weight.reshape(run.n, 3, -1).double()
    m = mean.reshape(3, -1)
    for k in range(3):
        x, y = (w[3, k] - m[k]).numpy(), (w[10, k] - m[k]).numpy()
        exp_k = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
        assert cos["per_class"][k] == pytest.approx(exp_k)
    np.testing.assert_allclose(cmp.probe_mean(), m.numpy(), rtol=1e-5, atol=1e-6)


def test_centred_cosine_matches_class_similarity_on_a_pair(run):
    # With only the two samples in one class, class_similarity's intra value is their centred
    # cosine (centred on the mean over all probe samples).
    cmp = ll.WeightCompare(run, 4, 9, checkpoint=1)
    ew = run.effective_weights(1)
    labels = np.full(run.n, -1)
    labels[[4, 9]] = 0
    labels[labels < 0] = np.arange(1, run.n - 1)
    sim = ll.metrics.class_similarity(ew, labels)
    assert cmp.cosine()["overall"] == pytest.approx(sim.intra, abs=1e-6)


def test_group_operand_uses_the_mean_weight(run):
    cmp = ll.WeightCompare(run, [5, 2, 8], 1, checkpoint=3)
    assert cmp.a == [2, 5, 8]
    ew = run.effective_weights(3)
    group = ew.weight[[2, 5, 8]].double().mean(0)
    mean = ll.metrics.probe_mean(ew)
    expected = ll.metrics.centred_cosine(group, ew.weight[1], mean)
    assert cmp.cosine()["overall"] == pytest.approx(expected)


def test_probe_mean_and_neighbors_messages(run, monkeypatch):
    cmp = ll.WeightCompare(run, 0, 1)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch_probe_mean", "checkpoint": 2}, [])
    cmp._on_message(cmp, {"type": "fetch_neighbors", "sample": 6, "checkpoint": 2, "k": 4}, [])
    cmp._on_message(cmp, {"type": "fetch", "sample": 6, "checkpoint": 2}, [])
    (mean_msg, mean_buf), (nb_msg, nb_buf), (sample_msg, _) = sent.messages
    assert mean_msg["type"] == "probe_mean" and mean_msg["checkpoint"] == 2
    mean = _decode(mean_msg, mean_buf)["mean"]
    ew = run.effective_weights(2)
    np.testing.assert_allclose(mean, ew.weight.mean(0).reshape(3, -1).numpy(), rtol=1e-5)
    assert nb_msg["type"] == "neighbors" and nb_msg["sample"] == 6
    arrays = _decode(nb_msg, nb_buf)
    expected = ll.metrics.neighbors(ew, 6, 4, labels=run.probe_labels.numpy())
    assert arrays["index"].dtype == np.int32 and arrays["index"].tolist() == expected.index.tolist()
    np.testing.assert_allclose(arrays["similarity"], expected.similarity, rtol=1e-5)
    assert nb_msg["agreement"] == pytest.approx(expected.agreement)
    assert sample_msg["predicted"] == int(ew.output[6].argmax())


def test_neighbors_follow_the_similarity(run, monkeypatch):
    """Under the raw cosine the list and its numbers are the raw ones, asked and answered as such
    (the browser keeps them apart from the centred ones by the reply's similarity)."""
    cmp = ll.WeightCompare(run, 0, 1, similarity="raw")
    sent = Sent(cmp, monkeypatch)
    ew = run.effective_weights(2)
    labels = run.probe_labels.numpy()
    raw = ll.metrics.neighbors(ew, 6, 5, labels=labels, centered=False)
    centred = ll.metrics.neighbors(ew, 6, 5, labels=labels)
    assert cmp.neighbors(6, 2, 5).index.tolist() == raw.index.tolist()
    got = cmp.neighbors(6, 2, 5, similarity="centred")
    assert got.index.tolist() == centred.index.tolist()
    for kind, want in (("raw", raw), ("centred", centred)):
        fetch = {"type": "fetch_neighbors", "sample": 6, "checkpoint": 2, "k": 5}
        cmp._on_message(cmp, {**fetch, "similarity": kind}, [])
        content, buffers = sent.messages[-1]
        arrays = _decode(content, buffers)
        assert content["similarity"] == kind
        assert arrays["index"].tolist() == want.index.tolist()
        np.testing.assert_allclose(arrays["similarity"], want.similarity, rtol=1e-5)
    assert not np.allclose(raw.similarity, centred.similarity)
    with pytest.raises(ValueError, match="similarity"):
        cmp.neighbors(6, 2, 5, similarity="cosine")


def test_neighbors_of_a_bad_sample_answer_an_error(run, monkeypatch):
    cmp = ll.WeightCompare(run, 0, 1)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch_neighbors", "sample": 99, "checkpoint": 0, "k": 3}, [])
    content, _ = sent.messages[0]
    assert content["type"] == "error" and content["sample"] == 99 and "99" in content["message"]


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("a", [24], "a index 24 is out of range"),
        ("b", [-1], "b index -1 is out of range"),
        ("a", [], "a is empty"),
        ("similarity", "cosine", "similarity must be one of"),
        ("view", "both", "view must be one of"),
        ("k", 0, "k must be a positive integer"),
        ("checkpoint", 7, "checkpoint index 7 is out of range"),
        ("classes", [0, 3], "classes index 3"),
    ],
)
def test_invalid_values_are_named(run, trait, value, match):
    cmp = ll.WeightCompare(run)
    with pytest.raises(ValueError, match=match):
        setattr(cmp, trait, value)


def test_constructor_validates_samples(run):
    with pytest.raises(ValueError, match="b index 50"):
        ll.WeightCompare(run, 0, 50)


def test_state_for_the_front_end(run):
    cmp = ll.WeightCompare(run, 1, 2, classes=[2, 0])
    assert cmp._input_shape == [1, 4, 4] and cmp._n_samples == run.n and cmp._n_outputs == 3
    assert cmp._display == {"mean": [0.0], "std": [1.0]} and cmp.channel_view == "sum"
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


def test_colour_scale_is_per_checkpoint_or_over_the_run(run):
    cmp = ll.WeightCompare(run, 0, 1)
    assert cmp.scale == "checkpoint"
    cmp.scale = "run"
    assert ll.WeightCompare(run, 0, 1, scale="run").scale == "run"
    with pytest.raises(traitlets.TraitError, match="scale"):
        cmp.scale = "global"
