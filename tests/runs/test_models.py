import json

import pytest
import torch
from torch import nn

import linlens_widgets as ll
from linlens_widgets.runs import models


def test_mlp_is_the_bias_free_paper_network_by_default() -> None:
    model = ll.models.mlp(64, [128, 128], 10)
    assert isinstance(model, nn.Sequential)
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert all(m.bias is None for m in model if isinstance(m, nn.Linear))
    assert model(torch.rand(3, 64)).shape == (3, 10)
    with_bias = ll.models.mlp(64, [16], 10, bias=True)
    assert with_bias[0].bias is not None and with_bias[2].bias is not None
    assert ll.models.mlp(5, [], 2)(torch.rand(1, 5)).shape == (1, 2)


def test_init_scale_multiplies_the_default_initialisation() -> None:
    base = ll.models.mlp(20, [30], 4, seed=3)
    small = ll.models.mlp(20, [30], 4, init_scale=1e-3, seed=3)
    for a, b in zip(base.parameters(), small.parameters(), strict=True):
        assert torch.allclose(b, a * 1e-3)


def test_seed_reproduces_the_init_without_touching_global_state() -> None:
    state = torch.random.get_rng_state()
    a, b = ll.models.mlp(8, [8], 2, seed=1), ll.models.mlp(8, [8], 2, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a[0].weight, b[0].weight)
    assert not torch.equal(a[0].weight, ll.models.mlp(8, [8], 2, seed=2)[0].weight)


def test_cnn_takes_flat_input_and_starts_with_unflatten() -> None:
    model = ll.models.cnn((8, 8), 10)
    assert isinstance(model[0], nn.Unflatten)
    assert any(isinstance(m, nn.MaxPool2d) for m in model)
    assert isinstance(model[-2], nn.Flatten) and isinstance(model[-1], nn.Linear)
    assert model(torch.rand(4, 64)).shape == (4, 10)
    mnist_like = ll.models.cnn((28, 28), 10, channels=(4,), bias=False)
    assert mnist_like(torch.rand(2, 784)).shape == (2, 10)
    assert ll.models.cnn((3, 3), 2, channels=(2, 2, 2))(torch.rand(1, 9)).shape == (1, 2)


def test_residual_mlp_adds_its_input() -> None:
    model = ll.models.residual_mlp(6, 5, 2, 3)
    assert isinstance(model, models.ResidualMLP) and len(model.blocks) == 2
    block = model.blocks[0]
    h = torch.rand(4, 5)
    assert torch.allclose(block(h), h + block.fc2(torch.relu(block.fc1(h))))
    assert model(torch.rand(4, 6)).shape == (4, 3)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: ll.models.mlp(12, [7, 5], 3, bias=True, init_scale=0.5),
        lambda: ll.models.cnn((4, 6), 3, channels=(2, 3)),
        lambda: ll.models.residual_mlp(12, 6, 1, 3, bias=False),
    ],
)
def test_spec_is_json_and_rebuilds_the_architecture(factory) -> None:
    model = factory()
    spec = ll.models.spec_of(model)
    assert spec is not None and json.loads(json.dumps(spec)) == spec
    rebuilt = ll.models.build(spec)
    assert type(rebuilt) is type(model)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.rand(3, 12 if spec["preset"] != "cnn" else 24)
    assert torch.equal(rebuilt(x), model(x))
    assert ll.models.spec_of(rebuilt) == spec


def test_spec_of_user_modules_and_altered_presets_is_none() -> None:
    assert ll.models.spec_of(nn.Sequential(nn.Linear(3, 2))) is None
    model = ll.models.mlp(4, [6], 2)
    model[1] = nn.LeakyReLU()
    assert ll.models.spec_of(model) is None
    model = ll.models.mlp(4, [6], 2)
    model[0] = nn.Linear(4, 6, bias=True)
    assert ll.models.spec_of(model) is None


def test_build_rejects_unknown_specs() -> None:
    with pytest.raises(ValueError, match="unknown model preset 'transformer'"):
        ll.models.build({"preset": "transformer", "kwargs": {}})
    with pytest.raises(ValueError, match="cannot build preset 'mlp'"):
        ll.models.build({"preset": "mlp", "kwargs": {"n_in": 3, "widths": [2], "n_out": 2}})
    with pytest.raises(ValueError, match="positive integer"):
        ll.models.mlp(0, [4], 2)


def test_cnn_takes_colour_images_and_old_grey_specs_still_build() -> None:
    colour = ll.models.cnn((3, 8, 8), 4, channels=(2,), seed=0)
    assert colour(torch.rand(5, 3, 8, 8)).shape == (5, 4)
    assert ll.models.spec_of(colour)["kwargs"]["input_shape"] == [3, 8, 8]
    grey = ll.models.cnn((8, 8), 4, channels=(2,), seed=0)
    old_spec = {"preset": "cnn", "kwargs": {"image_shape": [8, 8], "n_classes": 4, "channels": [2]}}
    rebuilt = ll.models.build(old_spec)
    assert rebuilt.state_dict().keys() == grey.state_dict().keys()
    assert rebuilt(torch.rand(2, 64)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\(C, H, W\) or \(H, W\)"):
        ll.models.cnn((3, 8, 8, 1), 4)


def test_resnet18_preset_is_exact_in_eval_mode_and_rebuilds_from_its_spec() -> None:
    from torch.func import jacrev, vmap

    model = ll.models.resnet18((3, 8, 8), 10, blocks=(1, 1, 1, 1), seed=0)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity) and isinstance(model.bn1, nn.BatchNorm2d)
    model.train()
    with torch.no_grad():  # running statistics that are not the identity
        for _ in range(3):
            model(torch.randn(16, 3, 8, 8) * 2 + 0.5)
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    weights = ll.effective_weights(model, x).weight
    jacobian = vmap(jacrev(lambda v: model(v[None])[0]))(x)
    assert torch.allclose(weights, jacobian, atol=1e-5, rtol=0)
    rebuilt = ll.models.build(ll.models.spec_of(model))
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), model(x))
