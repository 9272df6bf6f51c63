import numpy as np
import pytest
import torch
from torch import nn

import linlens_widgets as ll
from linlens_widgets.runs.schedule import log_steps

METRICS = {"train_loss", "train_acc", "test_loss", "test_acc"}


@pytest.fixture(scope="module")
def data() -> ll.Dataset:
    return ll.datasets.digits()


def test_training_learns_digits(data: ll.Dataset) -> None:
    model = ll.models.mlp(data.n_features, [64], data.n_classes, seed=0)
    run = ll.train(model, data, epochs=5, checkpoints="epoch", progress=False)
    first, last = run.checkpoints[0].metrics, run.checkpoints[-1].metrics
    assert set(first) == METRICS
    assert first["test_acc"] < 0.3 and last["test_acc"] > 0.9
    assert last["train_loss"] < first["train_loss"] / 4
    # the model was trained in place and the run's last checkpoint holds its weights
    assert torch.equal(run.state_dict_at(-1)["0.weight"], model[0].weight.detach())


def test_default_log_schedule_includes_init_and_end(data: ll.Dataset) -> None:
    run = ll.train(ll.models.mlp(64, [16], 10), data, epochs=2, batch_size=128, progress=False)
    steps_per_epoch = 11  # ceil(1347 / 128)
    assert [c.step for c in run.checkpoints] == log_steps(2 * steps_per_epoch)
    assert len(run.checkpoints) == 20 and run.checkpoints[0].epoch == 0.0
    assert run.checkpoints[-1].epoch == 2.0
    assert run.checkpoints[3].epoch == pytest.approx(3 / steps_per_epoch)
    assert [c.index for c in run.checkpoints] == list(range(20))
    walls = [c.wall_time for c in run.checkpoints]
    assert walls == sorted(walls) and walls[0] >= 0
    assert run.config["optimizer"] == "sgd" and run.config["lr"] == 0.05
    assert run.config["steps_per_epoch"] == steps_per_epoch


def test_fractional_epochs_and_step_lists(data: ll.Dataset) -> None:
    model = ll.models.mlp(64, [8], 10)
    run = ll.train(model, data, epochs=1, checkpoints=[0, 0.5, 1], progress=False)
    assert [c.step for c in run.checkpoints] == [0, 11, 22]
    assert [c.epoch for c in run.checkpoints] == [0.0, 0.5, 1.0]
    run = ll.train(model, data, epochs=1, checkpoints={"steps": [1, 2, 3]}, progress=False)
    assert [c.step for c in run.checkpoints] == [1, 2, 3]


def test_same_seed_gives_bit_identical_checkpoints(data: ll.Dataset) -> None:
    def once(seed: int) -> ll.Run:
        model = ll.models.mlp(64, [32, 32], 10, seed=7)
        return ll.train(model, data, epochs=2, checkpoints=5, seed=seed, progress=False)

    a, b, c = once(0), once(0), once(1)
    for i in range(len(a)):
        for name, tensor in a.state_dict_at(i).items():
            assert torch.equal(tensor, b.state_dict_at(i)[name])
        assert a.checkpoints[i].metrics == b.checkpoints[i].metrics
    assert not torch.equal(a.state_dict_at(-1)["0.weight"], c.state_dict_at(-1)["0.weight"])


def test_training_leaves_global_state_alone(data: ll.Dataset) -> None:
    model = ll.models.mlp(64, [8], 10)
    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    ll.train(model, data, epochs=1, checkpoints=2, progress=False)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert torch.get_num_threads() == threads


def test_adam_and_custom_optimizer(data: ll.Dataset) -> None:
    model = ll.models.mlp(64, [128, 128], 10, seed=0)
    run = ll.train(model, data, epochs=2, optimizer="adam", progress=False)
    assert run.config["lr"] == 1e-3 and run.checkpoints[-1].metrics["test_acc"] > 0.8
    run = ll.train(
        ll.models.mlp(64, [32], 10),
        data,
        epochs=1,
        checkpoints=2,
        optimizer=lambda params: torch.optim.RMSprop(params, lr=1e-3),
        progress=False,
    )
    assert run.config["optimizer"] == "RMSprop"


def test_probe_options(data: ll.Dataset) -> None:
    def probe_of(probe):
        return ll.train(ll.models.mlp(64, [4], 10), data, epochs=0, probe=probe, progress=False)

    default = probe_of(None)
    assert torch.equal(default.probe_indices, torch.arange(450))  # 450 < the 2,000 cap
    assert (
        torch.equal(default.probe_inputs, data.x_test)
        and default.probe_inputs.dtype == torch.float32
    )
    hundred = probe_of(np.int64(100))
    assert torch.bincount(hundred.probe_labels).tolist() == [10] * 10  # stratified
    assert torch.equal(hundred.probe_labels, data.y_test[hundred.probe_indices])
    picked = probe_of(torch.tensor([5, 1, 9]))
    assert picked.probe_indices.tolist() == [5, 1, 9]
    assert torch.equal(picked.probe_inputs, data.x_test[[5, 1, 9]])
    custom = probe_of((data.x_train[:7].reshape(7, 8, 8).numpy(), data.y_train[:7].numpy()))
    assert custom.probe_indices.tolist() == [-1] * 7
    assert torch.equal(custom.probe_inputs, data.x_train[:7])
    for bad, message in [
        (torch.rand(3, 64), r"probe=\(inputs, labels\)"),
        ([0, 450], "0..449"),
        ([1, 1], "duplicates"),
        (451, "holds 450"),
        ((data.x_train[:2, :10], data.y_train[:2]), r"shape \(10,\) per sample.*\(64,\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            probe_of(bad)


def test_default_probe_is_capped_and_stratified() -> None:
    x = torch.rand(6000, 4)
    y = torch.arange(6000) % 3
    big = ll.Dataset.from_tensors(x, y, test_fraction=0.5)
    run = ll.train(ll.models.mlp(4, [4], 3), big, epochs=0, progress=False)
    assert len(run.probe_labels) == 2000
    assert torch.bincount(run.probe_labels).tolist() == [667, 667, 666]
    assert run.probe_indices.tolist() == sorted(set(run.probe_indices.tolist()))


def test_progress_bar_can_be_switched_off(data: ll.Dataset, capsys: pytest.CaptureFixture) -> None:
    ll.train(ll.models.mlp(64, [4], 10), data, epochs=1, checkpoints=2, progress=False)
    assert capsys.readouterr().err == ""
    ll.train(ll.models.mlp(64, [4], 10), data, epochs=1, checkpoints=2, progress=True)
    assert "22/22" in capsys.readouterr().err


def test_recorder_in_a_user_training_loop(data: ll.Dataset) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    rec = ll.Recorder(model, data, probe=50)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec.snapshot(epoch=0, step=0)
    for step in range(1, 31):
        idx = torch.randint(0, len(data.y_train), (32,))
        loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0:
            rec.snapshot(epoch=step * 32 / 1347, step=np.int64(step), batch_loss=loss.detach())
    run = rec.run
    assert [c.step for c in run.checkpoints] == [0, 10, 20, 30]
    assert run.model_spec is None and len(run.probe_labels) == 50
    assert run.checkpoints[-1].metrics["batch_loss"] == pytest.approx(loss.detach().item())
    assert set(run.checkpoints[-1].metrics) >= METRICS
    x = run.probe_inputs
    assert torch.equal(run.model_at(-1)(x), model(x))
    assert not torch.equal(run.model_at(0)(x), model(x))
    with pytest.raises(ValueError, match="greater than the previous"):
        rec.snapshot(epoch=1, step=30)
    assert len(ll.Recorder(model, data, evaluate=False).snapshot(epoch=0, step=0).metrics) == 0


def test_training_errors_are_clear(data: ll.Dataset) -> None:
    with pytest.raises(ValueError, match=r"\(N, 10\) class scores.*\(2, 3\)"):
        ll.train(ll.models.mlp(64, [4], 3), data, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"Dataset\.from_tensors"):
        ll.train(ll.models.mlp(64, [4], 10), (data.x_train, data.y_train), epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="optimizer must be"):
        ll.train(ll.models.mlp(64, [4], 10), data, epochs=1, optimizer="lbfgs", progress=False)
    with pytest.raises(ValueError, match=r"diverged.*smaller lr"):
        ll.train(ll.models.mlp(64, [64], 10, bias=True), data, epochs=1, lr=1e20, progress=False)


def test_train_metrics_use_a_fixed_subset_of_large_training_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linlens_widgets.runs import snapshots

    monkeypatch.setattr(snapshots, "TRAIN_EVAL_CAP", 100)
    data = ll.Dataset.from_tensors(torch.rand(400, 4), torch.arange(400) % 2, test_fraction=0.25)
    model = ll.models.mlp(4, [3], 2, seed=0)
    rec = ll.Recorder(model, data, probe=10)
    metrics = rec.snapshot(epoch=0, step=0).metrics
    x, y = rec._split("train", torch.device("cpu"))
    assert len(y) == 100 and torch.bincount(y).tolist() == [50, 50]
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(x), y).item()
    assert metrics["train_loss"] == pytest.approx(expected)


def test_the_default_recipe_reaches_90_percent_on_digits(data: ll.Dataset) -> None:
    """The documented setting: MLP 64-[128,128]-10 (bias-free), 20 epochs, default everything."""
    model = ll.models.mlp(data.n_features, [128, 128], data.n_classes, seed=0)
    run = ll.train(model, data, epochs=20, progress=False)
    assert 16 <= len(run.checkpoints) <= 24
    assert run.checkpoints[-1].metrics["test_acc"] > 0.9
