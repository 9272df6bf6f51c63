"""``ll.plots.class_weights``: colour inputs as the user sees them over their channel-sum W_eff."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bokeh.models import GlyphRenderer, HBar, Image, ImageRGBA

import linlens_widgets as ll
from linlens_widgets.analysis.metrics import class_mean_weights
from linlens_widgets.analysis.weights import run_weights
from tests.helpers.colour_images import train_small


def _glyphs(layout, kind) -> list:
    return [r for r in layout.select({"type": GlyphRenderer}) if isinstance(r.glyph, kind)]


def _named(layout, name: str):
    return layout.select_one({"type": GlyphRenderer, "name": name})


def _run(x: torch.Tensor, y: torch.Tensor, **kwargs) -> ll.Run:
    return train_small(ll.Dataset.from_tensors(x, y, seed=0, **kwargs))


@pytest.fixture(scope="module")
def colour_run() -> ll.Run:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.rand(60, 3, 6, 5, generator=g) + y.view(-1, 1, 1, 1) * 0.1
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.3, 0.4)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return _run(x, y, display=ll.InputDisplay.normalize((3, 6, 5), mean, std))


def test_colour_thumbnails_over_channel_sums(colour_run: ll.Run) -> None:
    layout = ll.plots.class_weights(colour_run)
    thumbs = _glyphs(layout, ImageRGBA)
    heat = _glyphs(layout, Image)
    assert len(thumbs) == len(heat) == 3
    labels = colour_run.probe_labels.numpy()
    images = colour_run.probe_images()
    first = images[np.flatnonzero(labels == 0)[0]]
    drawn = (
        np.flipud(_named(layout, "input 0").data_source.data["image"][0])
        .view(np.uint8)
        .reshape(6, 5, 4)
    )
    np.testing.assert_array_equal(drawn[..., :3], first)  # the original pixels, in colour
    ew = run_weights(colour_run).effective_weights(len(colour_run.checkpoints) - 1)
    means = class_mean_weights(ew, labels, 3).numpy()
    want = means[2, 2].reshape(3, 6, 5).sum(axis=0)
    np.testing.assert_allclose(
        np.flipud(_named(layout, "weights 2").data_source.data["image"][0]), want, rtol=1e-6
    )


def test_feature_vectors_are_named_bars() -> None:
    g = torch.Generator().manual_seed(1)
    y = torch.arange(60) % 2
    x = torch.randn(60, 4, generator=g) + y.view(-1, 1)
    names = ["age", "dose", "weight", "height"]
    run = _run(x, y, feature_names=names)
    layout = ll.plots.class_weights(run)
    bars = _glyphs(layout, HBar)
    assert len(bars) == 2 and not _glyphs(layout, ImageRGBA)
    assert list(_named(layout, "weights 0").data_source.data["y"]) == names
