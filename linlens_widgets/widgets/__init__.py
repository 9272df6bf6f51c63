"""Jupyter widgets (anywidget): thin Python state holders; all drawing lives in js/.

- ``EmbeddingView`` — WebGL scatter (regl-scatterplot) of a trajectory; ``checkpoint`` and
  ``selection`` traits; all checkpoints' positions sent once (E × N × 2 float32), so a change of
  checkpoint animates in the browser; lasso, box, click, hover thumbnails, legend filter, colour by
  label / correctness / any per-sample array.
- ``WeightCompare`` — two samples' W_eff per class (diverging map, shared symmetric scale), their
  difference, b_eff, predicted class, cosine overall and per class, optional class-mean row;
  images fetched on demand as float32 buffers.
- ``CheckpointScrubber`` — native range input over the checkpoints, play/pause/speed, step
  buttons, keyboard, accuracy/loss sparkline; ``checkpoint`` links with ``traitlets.link`` or
  ``ipywidgets.jslink`` (browser-only, instant).
- ``LensExplorer`` — the three linked (in the browser) plus a Bokeh metrics panel;
  ``save_html(path)`` writes a kernel-free page.

Vocabulary: ``checkpoint`` is a position in the widget's checkpoint list (an int, negative counts
back from the end); ``epoch`` is training time (a float) and appears only in labels and frames.
Every synced trait, the explorer's links and the custom messages are listed in
``contract.json``, which the front end reads too.

DOM contract (relied on by the browser tests): each widget renders
``div.linlens-root[data-linlens=embedding|compare|scrubber|explorer]``; errors show in a
``.linlens-error`` element inside the root. The scatter's root holds exactly one ``<canvas>``
(the WebGL one), sets ``data-ready="true"`` after its first frame, ``data-checkpoint`` /
``data-selected``, and exposes ``root.linlensProject(i) -> [x, y]`` (CSS px from the canvas's
top-left at the shown checkpoint); its tool buttons are labelled "Pan and zoom", "Lasso select",
"Box select", "Reset view",
"Clear selection" (shift+drag lassoes in any mode). The scrubber is ``input.linlens-checkpoint``
(type=range, value = checkpoint position) with buttons "Play", "Pause", "Previous checkpoint",
"Next checkpoint". The comparison shows ``[data-testid=cosine]`` (``data-value`` = full-precision
overall cosine) and ``[data-testid=cosine-class]`` elements (``data-class``, ``data-value``).

Saved pages (``LensExplorer.save_html``): one HTML file, the front-end bundle inlined, state and
arrays embedded as base64, no kernel, no network. The scatter and the scrubber work for every
point; the comparison works for a bounded set of samples (``max_samples``, default 48, spread over
the classes, plus the current A/B and the first two selected), whose W_eff at every checkpoint
is embedded (refused when that W_eff array alone exceeds 64 MB; the rest of the page is not
counted in that bound). The page says so, and offers "in this page" as a colouring.
"""
