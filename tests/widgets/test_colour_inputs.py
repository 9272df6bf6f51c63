"""What the widgets send for a colour run on normalised inputs, and for a run on feature vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import traitlets

import linlens_widgets as ll
from tests.helpers.colour_images import train_small

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.3, 0.4)


@pytest.fixture(scope="module")
def colour_run() -> ll.Run:
    """Pixels through ToTensor's and Normalize's float32 steps, as torchvision makes them."""
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 256, (60, 3, 6, 5), generator=g, dtype=torch.uint8)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    x = (codes.float().div(255) - mean) / std
    display = ll.InputDisplay.normalize((3, 6, 5), MEAN, STD)
    return train_small(ll.Dataset.from_tensors(x, torch.arange(60) % 3, display=display, seed=0))


def test_colour_state_for_the_front_end(colour_run: ll.Run) -> None:
    cmp = ll.WeightCompare(colour_run, 0, 1)
    assert cmp._input_shape == [3, 6, 5]
    np.testing.assert_allclose(cmp._display["mean"], MEAN)
    np.testing.assert_allclose(cmp._display["std"], STD)
    assert cmp.channel_view == "sum"
    cmp.channel_view = "template"
    with pytest.raises(traitlets.TraitError, match="channel_view"):
        cmp.channel_view = "rgb"
    assert cmp.channel_view == "template"


def test_colour_network_is_carried_with_its_pixels(colour_run: ll.Run) -> None:
    net = ll.WeightCompare(colour_run, 0, 1).send_network()  # what the front end receives
    assert net is not None  # a stack that starts with a 3-channel convolution
    # the page rebuilds the normalised inputs from uint8 pixels and the stored mean/std
    assert net["inputs"]["dtype"] == "uint8" and net["input_normalize"]["mean"] == list(MEAN)


def test_colour_thumbnails_are_the_original_pixels(colour_run: ll.Run) -> None:
    traj = ll.embed(colour_run, perplexity=3, progress=False)
    view = ll.EmbeddingView(traj, run=colour_run)
    thumbs = view._thumbnails
    assert thumbs.dtype == np.uint8 and thumbs.shape == (len(colour_run.probe_labels), 6, 5, 3)
    np.testing.assert_array_equal(thumbs, colour_run.probe_images())


def test_feature_vectors_send_names_and_no_thumbnails() -> None:
    g = torch.Generator().manual_seed(1)
    y = torch.arange(60) % 2
    x = torch.randn(60, 4, generator=g) + y.view(-1, 1)
    names = ["age", "dose", "weight", "height"]
    run = train_small(ll.Dataset.from_tensors(x, y, feature_names=names, seed=0))
    cmp = ll.WeightCompare(run, 0, 1)
    assert cmp._input_shape == [4] and cmp._display == {"feature_names": names}
    traj = ll.embed(run, perplexity=3, progress=False)
    assert ll.EmbeddingView(traj, run=run)._thumbnails is None
