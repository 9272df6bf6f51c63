"""The run's aligned embedding, computed once and kept in the run's analysis store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from linlens_widgets.cli.errors import CommandError
from linlens_widgets.cli.terminal import say

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run

EMBED_PERPLEXITY = 30
"""The t-SNE perplexity ``export`` uses when the probe set is large enough (``ll.embed``'s)."""


def embed(run: Run) -> None:
    """Compute (or reuse) the run's aligned embedding, kept in the run's analysis store.

    A probe set too small for the default perplexity gets the largest one it allows (N >= 3 x
    perplexity), said in one line; fewer than 3 probe samples is one error.
    """
    import linlens_widgets as ll
    from linlens_widgets.analysis.store import AnalysisStore

    n = len(run.probe_labels)
    perplexity = min(EMBED_PERPLEXITY, n // 3)
    if perplexity < 1:
        raise CommandError(f"the run has {n} probe samples; an embedding needs at least 3")
    if "trajectory" not in AnalysisStore(run):
        say(f"embedding {len(run.checkpoints)} checkpoints (aligned t-SNE)")
        if perplexity < EMBED_PERPLEXITY:
            say(
                f"{n} probe samples allow a t-SNE perplexity of at most {perplexity} "
                f"(N >= 3 x perplexity); using {perplexity} instead of {EMBED_PERPLEXITY}"
            )
    ll.embed(run, perplexity=perplexity, progress=True)
