"""Portable networks: the description is faithful, and the JavaScript engine reproduces W_eff.

The exactness tests export a model with `portable_network` + `to_arrays`, run
``js/test/run_engine.mjs`` under node on random samples and compare with `ll.effective_weights`.
"""

from __future__ import annotations

import base64
import doctest
import json
import shutil
import subprocess
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import linlens_widgets as ll
from linlens_widgets.lens import portable
from linlens_widgets.lens.portable import portable_network, portable_network_reason, to_arrays

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "js" / "test" / "run_engine.mjs"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None, reason="node is not installed (needed for the JS engine)"
)
TOLERANCE = {"float32": 1e-4, "float16": 2e-3}


def run_js_engine(
    model: nn.Module,
    x: torch.Tensor,
    dtype: str,
    tmp: Path,
    input_shape: tuple[int, ...] | None = None,
) -> dict:
    """Export ``model``, run the JS engine on ``x`` under node and return its results as arrays."""
    net = portable_network(model, input_shape)
    assert net is not None, portable_network_reason(model, input_shape)
    spec, arrays = to_arrays(net, dtype)
    flat = x.reshape(len(x), -1).to(torch.float32).contiguous().numpy()
    payload = {
        "spec": spec,
        "arrays": [{"b64": base64.b64encode(a.tobytes()).decode()} for a in arrays],
        "samples": {"b64": base64.b64encode(flat.tobytes()).decode(), "shape": list(flat.shape)},
    }
    (tmp / "in.json").write_text(json.dumps(payload))
    done = subprocess.run(
        [NODE, str(RUNNER), str(tmp / "in.json"), str(tmp / "out.bin")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    n, c, d = info["n"], info["classes"], info["inputs"]
    values = np.fromfile(tmp / "out.bin", dtype=np.float32)
    weight, rest = values[: n * c * d].reshape(n, c, d), values[n * c * d :]
    bias = rest[: n * c].reshape(n, c) if info["has_bias"] else None
    output = rest[-n * c :].reshape(n, c)
    return {"weight": weight, "bias": bias, "output": output, "predicted": info["predicted"]}


def rel_error(got: np.ndarray, want: torch.Tensor) -> float:
    """Largest per-sample relative error ``|got - want| / |want|`` (Frobenius norms)."""
    want_np = want.detach().reshape(len(want), -1).double().numpy()
    diff = np.linalg.norm(got.reshape(len(got), -1) - want_np, axis=1)
    return float((diff / np.maximum(np.linalg.norm(want_np, axis=1), 1e-30)).max())


def seeded_inputs(shape: tuple[int, ...], n: int, seed: int) -> torch.Tensor:
    return torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))


MODELS = {
    "mlp-bias-free": lambda: ll.models.mlp(64, [48, 32], 10, seed=1),
    "mlp-biased": lambda: ll.models.mlp(64, [48, 32], 10, bias=True, seed=2),
    "mlp-leaky-bn": lambda: _leaky_bn_mlp(),
    "cnn-preset": lambda: ll.models.cnn((12, 12), 10, seed=3),
    "conv-mixed": lambda: _mixed_conv(),
    "cnn-colour": lambda: _colour_cnn(),
}
INPUT_SHAPES = {"conv-mixed": (2, 9, 9), "cnn-colour": (3, 32, 32)}


def _colour_cnn() -> nn.Sequential:
    """The small CNN's blocks on 3×32×32 colour input, starting with a 3-channel convolution."""
    torch.manual_seed(6)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 8 * 8, 10),
    )


def _random_batchnorm(bn: nn.Module) -> nn.Module:
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return bn


def _mixed_conv() -> nn.Sequential:
    """Strided conv, folded and unfolded BatchNorm, every pool kind: the rarer ops together."""
    torch.manual_seed(5)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        _random_batchnorm(nn.BatchNorm2d(4)),
        nn.LeakyReLU(0.05),
        _random_batchnorm(nn.BatchNorm2d(4)),  # after an activation: stays a per-channel affine
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(4, 3, 2, dilation=2, bias=False),
        nn.AvgPool2d(1),
        nn.AdaptiveAvgPool2d((2, 2)),
        nn.Flatten(),
        nn.Linear(12, 4),
    ).eval()


def _leaky_bn_mlp() -> nn.Sequential:
    torch.manual_seed(4)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(20, 16),
        nn.BatchNorm1d(16),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.3),
        nn.Linear(16, 12, bias=False),
        nn.Identity(),
        nn.ReLU(),
        nn.Linear(12, 5),
    )
    bn = model[2]
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    nn.init.uniform_(bn.weight, 0.5, 1.5)
    nn.init.uniform_(bn.bias, -0.2, 0.2)
    return model.eval()


def rounded_to_half(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers are rounded to float16 (kept float32)."""
    copy = deepcopy(model)
    with torch.no_grad():
        for t in [*copy.parameters(), *copy.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())
    return copy


# conv-mixed covers the rarer ops; in float16 its folded BatchNorm is rounded after folding, so no
# rounded PyTorch model is the stored network, and a max-pool flip would move whole pixels
CASES = [
    (n, d) for n in MODELS for d in ("float32", "float16") if (n, d) != ("conv-mixed", "float16")
]


@needs_node
@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_js_engine_matches_effective_weights(name: str, dtype: str, tmp_path: Path) -> None:
    model = MODELS[name]().eval()
    shape = INPUT_SHAPES.get(name)
    net = portable_network(model, shape)
    assert net is not None
    x = seeded_inputs(net.input_shape, 6, seed=len(name))
    got = run_js_engine(model, x, dtype, tmp_path, shape)
    ew = ll.effective_weights(model, x)
    tol = TOLERANCE[dtype]
    assert rel_error(got["output"], ew.output) <= tol
    if name.startswith("cnn") and dtype == "float16":
        # rounding the weights can flip a max-pool's choice between near-equal values, which moves
        # whole W_eff pixels: the engine is exact for the float16 network the page stores
        ew = ll.effective_weights(rounded_to_half(model), x)
        tol = TOLERANCE["float32"]
    assert rel_error(got["weight"], ew.weight) <= tol
    assert (ew.bias is None) == (got["bias"] is None)
    if ew.bias is not None:
        # the reference f(x) - W_eff x carries float32 cancellation: compare at the output scale
        diff = np.abs(got["bias"] - ew.bias.numpy()).max()
        assert diff <= tol * float(ew.output.abs().max())
    assert got["predicted"] == ew.output.argmax(dim=1).tolist()


def test_description_of_the_cnn_preset() -> None:
    model = ll.models.cnn((12, 12), 10, seed=0)
    net = portable_network(model)
    assert net is not None
    assert [op.kind for op in net.ops] == [
        "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "linear",
    ]  # fmt: skip
    assert net.input_shape == (144,) and net.n_outputs == 10 and net.has_bias
    spec, arrays = to_arrays(net, "float16")
    assert json.loads(json.dumps(spec)) == spec
    assert [a.dtype for a in arrays] == [np.float16] * len(arrays)
    assert [list(a.shape) for a in arrays] == [m["shape"] for m in spec["arrays"]]
    assert all(a.flags.c_contiguous for a in arrays)
    assert sum(a.nbytes for a in arrays) * 2 == sum(a.nbytes for a in to_arrays(net)[1])


def test_batchnorm_is_folded_into_the_linear_before_it() -> None:
    model = _leaky_bn_mlp()
    net = portable_network(model)
    assert net is not None
    assert [op.kind for op in net.ops] == ["linear", "relu", "linear", "relu", "linear"]
    assert net.ops[1].params == {"negative_slope": pytest.approx(0.1)}
    folded = net.ops[0]
    x = seeded_inputs((20,), 4, seed=0)
    want = model[2](model[1](x))
    got = x @ folded.tensors["weight"].T + folded.tensors["bias"]
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)


def test_bias_free_network_has_no_bias_arrays() -> None:
    spec, arrays = to_arrays(portable_network(ll.models.mlp(8, [4], 3, seed=0)))
    assert not spec["has_bias"]
    assert [op.get("bias") for op in spec["ops"] if op["op"] == "linear"] == [None, None]
    assert len(arrays) == 2


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(8, 8), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


@pytest.mark.parametrize(
    ("model", "words"),
    [
        (nn.Sequential(nn.Linear(8, 8), Residual(), nn.Linear(8, 2)), "1: Residual"),
        (nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2)), "1: GELU"),
        (Residual(), "not an nn.Sequential"),
        (nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5)), "training mode"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), "input_shape"),
        (nn.Sequential(nn.Unflatten(1, (2, 4)), nn.Linear(4, 2)), "more than one feature"),
    ],
)
def test_unsupported_stacks_return_none_with_a_reason(model: nn.Module, words: str) -> None:
    assert portable_network(model) is None
    assert words in portable_network_reason(model)


def test_conv_stack_with_an_explicit_input_shape() -> None:
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1),
        nn.BatchNorm2d(3).eval(),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d((2, 2)),
        nn.Flatten(),
        nn.Linear(12, 4),
    ).eval()
    net = portable_network(model, (2, 9, 9))
    assert net is not None and portable_network_reason(model, (2, 9, 9)) == ""
    assert [op.kind for op in net.ops] == [
        "conv2d", "relu", "avgpool2d", "adaptive_avgpool2d", "linear",
    ]  # fmt: skip
    assert net.ops[0].out_shape == (3, 5, 5) and net.ops[3].out_shape == (3, 2, 2)


def test_bad_dtype_is_refused() -> None:
    net = portable_network(ll.models.mlp(4, [], 2, seed=0))
    with pytest.raises(ValueError, match="float16"):
        to_arrays(net, "int8")


def test_docstring_examples() -> None:
    result = doctest.testmod(portable, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
