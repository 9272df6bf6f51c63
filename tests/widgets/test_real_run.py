"""The widgets on a real recorded run (digits, small MLP, PCA embedding: fast)."""

import re

import numpy as np
import pytest
import torch

import linlens_widgets as ll
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
    assert ex.embedding._thumbnails.shape == (n, 8, 8)
    ex.scrubber.epoch = 1
    assert ex.compare.epoch == ex.embedding.epoch == 1
    sent = Sent(ex.compare, monkeypatch)
    ex.compare._on_message(ex.compare, {"type": "fetch", "sample": 4, "epoch": 1}, [])
    content, buffers = sent.messages[0]
    arrays = {
        s["name"]: np.frombuffer(b, s["dtype"]).reshape(s["shape"])
        for s, b in zip(content["arrays"], buffers, strict=True)
    }
    ew = run.effective_weights(int(traj.checkpoint_ids[1]))
    np.testing.assert_allclose(arrays["weight"], ew.weight[4].reshape(10, 64).numpy(), rtol=1e-5)
    assert arrays["bias"].shape == (10,)  # the MLP has biases, so b_eff is sent
    # f(x) = W_eff x + b_eff holds for what the front end draws
    np.testing.assert_allclose(
        arrays["weight"] @ arrays["input"] + arrays["bias"], arrays["output"], atol=1e-4
    )
    ex.compare._on_message(ex.compare, {"type": "fetch_class_means", "epoch": 1}, [])
    means = sent.messages[1][0]["arrays"][0]
    assert means["shape"] == [10, 10, 64]
    path = ex.save_html(tmp_path / "real.html", max_samples=12)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", text, re.I)
    assert "12 samples" in text or "samples stored here" in text


def test_embedding_page_of_a_real_run(real, tmp_path):
    run, traj = real
    view = ll.EmbeddingView(traj, run=run, color="correct")
    path = view.save_html(tmp_path / "scatter.html")
    text = path.read_text(encoding="utf-8")
    assert '"kind":"embedding"' in text and "no kernel needed" in text
    assert not re.search(r"""<(script|link)[^>]+(src|href)=""", text, re.I)
