"""Activation patterns, region codes and Hamming distances."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from linlens_widgets.lens.effective import effective_weights
from linlens_widgets.lens.patterns import (
    activation_patterns,
    count_regions,
    hamming,
    pairwise_hamming,
    pattern_codes,
    pattern_matrix,
)


def test_patterns_match_pre_activation_signs() -> None:
    model = nn.Sequential(
        nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6), nn.LeakyReLU(0.2), nn.Linear(6, 2)
    )
    x = torch.randn(11, 5)
    pats = activation_patterns(model, x, batch_size=4)
    with torch.no_grad():
        pre1 = model[0](x)
        pre2 = model[2](model[1](pre1))
    assert [p.shape for p in pats] == [(11, 7), (11, 6)]
    assert torch.equal(pats[0], pre1 > 0) and torch.equal(pats[1], pre2 > 0)


def test_conv_patterns_are_flattened_and_maxpool_optional() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2)
    ).eval()
    x = torch.randn(4, 1, 6, 6)
    pats = activation_patterns(model, x)
    assert [p.shape for p in pats] == [(4, 2 * 4 * 4)]
    with_pool = activation_patterns(model, x, maxpool=True)
    assert [p.dtype for p in with_pool] == [torch.bool, torch.int64]
    assert with_pool[1].shape == (4, 2 * 2 * 2)
    assert pattern_matrix(with_pool).dtype == torch.int64


def test_patterns_agree_with_engine_on_residual_nets(lens_tools) -> None:
    model, d_in = lens_tools.random_residual(random.Random(11))
    x = torch.randn(9, d_in)
    pats = activation_patterns(model, x)
    engine = effective_weights(model, x, return_patterns=True).patterns
    assert len(pats) == len(engine)
    assert all(torch.equal(a, b) for a, b in zip(pats, engine, strict=True))


def test_inplace_relu_records_the_pre_activation() -> None:
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(inplace=True))
    x = torch.randn(6, 3)
    with torch.no_grad():
        pre = model[0](x)
    assert torch.equal(activation_patterns(model, x)[0], pre > 0)


def test_hamming_helpers() -> None:
    a = [torch.tensor([[True, False, True], [False, False, False]]), torch.tensor([[True], [True]])]
    b = [torch.tensor([[True, True, True], [False, False, True]]), torch.tensor([[False], [True]])]
    assert hamming(a, b).tolist() == [2, 1]
    assert hamming(a, a).tolist() == [0, 0]
    one = [p[:1] for p in b]
    assert hamming(a, one).tolist() == [2, 4]
    pair = pairwise_hamming(a, b)
    assert pair.tolist() == [[2, 1], [4, 1]]
    assert pairwise_hamming(a).diagonal().tolist() == [0, 0]
    with pytest.raises(ValueError, match="layers"):
        hamming(a, a[:1])


def test_pattern_codes_identify_regions() -> None:
    pats = [torch.tensor([[1, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.bool)]
    codes = pattern_codes(pats)
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 3
    assert count_regions(pats) == 3


def test_samples_in_one_region_share_effective_weights() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    x = torch.randn(1, 4).repeat(3, 1) + 1e-4 * torch.randn(3, 4)
    ew = effective_weights(model, x, return_patterns=True)
    codes = pattern_codes(ew.patterns)
    same = codes == codes[0]
    assert torch.allclose(ew.weight[same], ew.weight[0].expand_as(ew.weight[same]))
