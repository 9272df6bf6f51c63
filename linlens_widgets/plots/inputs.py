"""Each class's first probe input, as the user sees it, over its class-mean W_eff.

The report's last figure, and a quick look in a notebook at what each class's output has learnt:
images as tiles (input above, signed W_eff below), feature vectors as signed bar rows.

>>> show(ll.plots.class_weights(run))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from bokeh.layouts import column, gridplot, row
from bokeh.models import Div, LinearColorMapper
from bokeh.plotting import figure

from linlens_widgets.analysis.similarity import class_mean_weights
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.runs.indexing import checkpoint_index
from linlens_widgets.widgets import palettes

if TYPE_CHECKING:
    from bokeh.models import LayoutDOM

    from linlens_widgets.runs.store import Run

__all__ = ["DIVERGING_PALETTE", "class_weights"]

DIVERGING_PALETTE: tuple[str, ...] = palettes.DIVERGING
"""Colours for signed values (W_eff, similarities), blue negative to red positive, as the widgets
draw them: pass it as the ``palette`` of a Bokeh colour mapper centred on zero."""

_TILE = 96
"""Width of one class's image in :func:`class_weights`, in screen pixels."""


def class_weights(run: Run, checkpoint: int = -1) -> LayoutDOM:
    """Each class's first probe input, as the user sees it, over its class-mean W_eff.

    Images: the top row shows one probe sample per class in its own colours (un-normalised,
    ``run.probe_images()``); the bottom row the class-mean W_eff of that class's output, summed
    over the colour channels (the convention of Captum's heat maps), on a symmetric diverging scale
    (red positive, blue negative) of its own, written under it: classes learn at different
    speeds, and one shared scale would leave the slower ones blank. Feature vectors: one signed
    bar row per class with the feature names, on one shared scale.

    Parameters
    ----------
    run
        A trained or loaded run.
    checkpoint
        Checkpoint index (negative counts from the end; default the last).

    Returns
    -------
    bokeh.models.LayoutDOM

    >>> show(ll.plots.class_weights(run))  # doctest: +SKIP
    """
    cid = checkpoint_index(checkpoint, len(run.checkpoints))
    ew = run_weights(run).effective_weights(cid)
    labels = np.asarray(run.probe_labels)
    n_classes = len(run.classes)
    means = class_mean_weights(ew, labels, n_classes).numpy()
    own = np.stack([means[k, k].reshape(-1) for k in range(n_classes)])  # (classes, D)
    names = [str(c) for c in run.classes]
    epoch = run.checkpoints[cid].epoch
    title = f"class-mean W_eff of each class's own output, epoch {epoch:g}"
    if not run.display.is_image:
        return _feature_rows(own, list(run.feature_names), names, title)
    c, h, w = run.display.shape
    summed = own.reshape(n_classes, c, h, w).sum(axis=1)
    images = run.probe_images()
    tops, bottoms = [], []
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        top = _tile(names[k])
        if len(members):
            top.image_rgba(
                image=[_rgba(images[members[0]])], x=0, y=0, dw=w, dh=h, name=f"input {k}"
            )
        tops.append(top)
        vmax = float(np.nan_to_num(np.abs(summed[k])).max()) or 1.0
        bottom = _tile(f"±{vmax:.2g}")
        bottom.image(
            image=[np.flipud(summed[k])],
            x=0,
            y=0,
            dw=w,
            dh=h,
            color_mapper=_diverging(vmax),
            name=f"weights {k}",
        )
        bottoms.append(bottom)
    channel_note = " (sum over channels)" if c > 1 else ""
    head = Div(
        text=f"<b>{title}</b>{channel_note}: top, the class's first probe input; bottom, W_eff "
        "(red positive, blue negative; each class on its own scale, written above it)",
        width=max(_TILE * min(n_classes, 10) + 40, 640),
    )
    grid = gridplot([tops, bottoms], toolbar_location=None)
    return column(head, row(grid))


def _tile(title: str) -> Any:
    fig = figure(
        width=_TILE, height=_TILE + (20 if title else 0), title=title or None, toolbar_location=None
    )
    if title:
        fig.title.text_font_size = "9pt"
    fig.axis.visible = False
    fig.grid.visible = False
    fig.x_range.range_padding = fig.y_range.range_padding = 0
    fig.min_border = 2
    return fig


def _rgba(image: np.ndarray) -> np.ndarray:
    """Return a uint8 (H, W, C) image as the uint32 RGBA plane Bokeh draws (rows bottom-up)."""
    h, w, c = image.shape
    rgb = np.repeat(image, 3, axis=2) if c == 1 else image[..., :3]
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = 255
    return np.flipud(out).copy().view(np.uint32).reshape(h, w)


def _diverging(vmax: float) -> Any:
    return LinearColorMapper(palette=list(DIVERGING_PALETTE), low=-vmax, high=vmax)


def _feature_rows(own: np.ndarray, features: list[str], classes: list[str], title: str) -> Any:
    """One signed bar row per class over the named features (red positive, blue negative)."""
    vmax = float(np.nanmax(np.abs(own))) or 1.0
    figs = []
    for k, name in enumerate(classes):
        fig = figure(
            width=200 if k else 320,
            height=18 * len(features) + 60,
            y_range=list(reversed(features)),
            x_range=(-vmax * 1.05, vmax * 1.05),
            title=name,
            toolbar_location=None,
        )
        colors = ["#b2182b" if v >= 0 else "#2166ac" for v in own[k]]
        fig.hbar(y=features, right=own[k], height=0.7, color=colors, name=f"weights {k}")
        fig.yaxis.visible = k == 0
        fig.xaxis.major_label_orientation = 0.8
        figs.append(fig)
    return column(Div(text=f"<b>{title}</b> (red positive, blue negative)"), row(*figs))
