"""Lens metrics: class similarity of effective weights, sub-clusters within a class, class means.

The paper's findings are statements about these numbers: during training the effective weights
of same-class samples converge (intra-class cosine similarity rises) and those of different
classes diverge (inter-class similarity falls), while a stylistically varied class such as "1"
keeps persistent sub-clusters. How far apart the classes are, in W_eff space or in the inputs, is
:func:`knn_agreement` (:mod:`linlens_widgets.analysis.agreement`): the share of a sample's nearest
neighbours that carry its label; :func:`story` (:mod:`linlens_widgets.analysis.story`) turns these
numbers at initialisation and after training into the facts and sentences a lecture prints.

The related training phenomena live in :mod:`linlens_widgets.analysis.phenomena` and are
re-exported here, so that ``ll.metrics`` is the one place to look: :func:`neuron_alignment` (early
alignment under small initialisation), :func:`local_complexity` (linear-region density near the
data), :func:`weight_variation` (how far a net is from one linear map), each over a run with
:func:`phenomena_over_run`. The sub-clusters of one class at one checkpoint (:func:`subclusters`)
come from :mod:`linlens_widgets.analysis.clustering`; the sub-clusters of a class followed through
training (the same samples at every checkpoint) live in
:mod:`linlens_widgets.analysis.subcluster_tracking`: :func:`track_subclusters`,
:func:`track_all_subclusters`. Any of them is evaluated at every checkpoint of a run by
:func:`over_run` (:mod:`linlens_widgets.analysis.over_run`, which also holds the lens analyses
that the figures and the explorer's metrics panel draw).

Every function takes ``weights`` as an ``EffectiveWeights`` (its ``.weight`` is used), a
``torch.Tensor`` or a NumPy array of shape ``(N, ...)``, flattened per sample. Class similarity
also works on the engine's isometric features (``run_weights(run).weight_features(i)``): they
keep inner products, so centring and cosines computed on them equal those of the flattened W_eff.

>>> import linlens_widgets as ll
>>> from linlens_widgets.analysis.weights import run_weights
>>> features = run_weights(run).weight_features(-1)                             # doctest: +SKIP
>>> sim = ll.metrics.class_similarity(features, run.probe_labels)                # doctest: +SKIP
>>> sim.intra, sim.inter                                                          # doctest: +SKIP
"""

from __future__ import annotations

from linlens_widgets.analysis.agreement import KnnAgreement, knn_agreement
from linlens_widgets.analysis.clustering import Subcluster, subclusters
from linlens_widgets.analysis.neighbors import (
    Neighbors,
    centred_cosine,
    neighbor_table,
    neighbors,
    probe_mean,
)
from linlens_widgets.analysis.over_run import RunSeries, over_run
from linlens_widgets.analysis.phenomena import (
    boundary_points,
    default_radius,
    effective_rank,
    local_complexity,
    neuron_alignment,
    phenomena_over_run,
    weight_variation,
)
from linlens_widgets.analysis.similarity import (
    ClassSimilarity,
    class_mean_weights,
    class_similarity,
)
from linlens_widgets.analysis.story import Story, story
from linlens_widgets.analysis.subcluster_tracking import (
    SubclusterTrack,
    track_all_subclusters,
    track_subclusters,
    track_subclusters_in,
)

__all__ = [
    "ClassSimilarity",
    "KnnAgreement",
    "Neighbors",
    "RunSeries",
    "Story",
    "Subcluster",
    "SubclusterTrack",
    "boundary_points",
    "centred_cosine",
    "class_mean_weights",
    "class_similarity",
    "default_radius",
    "effective_rank",
    "knn_agreement",
    "local_complexity",
    "neighbor_table",
    "neighbors",
    "neuron_alignment",
    "over_run",
    "phenomena_over_run",
    "probe_mean",
    "story",
    "subclusters",
    "track_all_subclusters",
    "track_subclusters",
    "track_subclusters_in",
    "weight_variation",
]
