"""What a run shows between initialisation and the trained network, in numbers and in sentences.

A lecture that says "at initialisation the classes overlap" next to a picture where they do not
loses the room. Whether they overlap depends on the data and the network, so the sentences here
are chosen from numbers measured on the run at hand: the k-nearest-neighbour label agreement
(:func:`~linlens_widgets.analysis.agreement.knn_agreement`) in the inputs, in W_eff at
initialisation and in W_eff after training, overall and per class; which pairs of classes share
neighbourhoods (intertwined) and whether training takes them apart (untangled); and the
intra-/inter-class similarity (:func:`~linlens_widgets.analysis.similarity.class_similarity`).
Text and picture then cannot disagree on any data set.

Why W_eff at initialisation often mirrors the input: ``W_eff(x) = W_L D_{L-1}(x) … D_1(x) W_1``
with random weights, but the masks ``D_l(x)`` are chosen by ``x`` (unit ``j`` is on when its
pre-activation is positive), so nearby inputs switch on nearly the same units and get nearly the
same W_eff. A random network therefore keeps much of its input's neighbourhoods; training then
changes which neighbourhoods its linear models share.

>>> import linlens_widgets as ll
>>> told = ll.metrics.story(run)               # doctest: +SKIP
>>> told.initial.overall, told.input.overall   # doctest: +SKIP
>>> print(told.markdown())                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from linlens_widgets.analysis.agreement import KnnAgreement, knn_agreement
from linlens_widgets.analysis.similarity import ClassSimilarity, class_similarity
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.runs.indexing import checkpoint_indices

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["Story", "story", "tell"]

SAME = 0.03
"""Agreements within this many (of 1) are told as "about the same"."""
APART = 0.9
"""A class is apart when at least this share of its samples' neighbours carry its label."""
INTERTWINED = 0.08
"""Two classes are intertwined when this share of their neighbours (both ways, averaged) is the
other class's."""
CLOSE = 0.1
"""W_eff at initialisation within this many below the inputs is told as "nearly as many"."""
UNTANGLED = 0.5
"""An intertwined pair has untangled when its share of shared neighbours fell to at most this
fraction of what it was."""
MOST_PAIRS = 4
"""At most this many pairs are named in one sentence (the most intertwined first)."""


@dataclass(frozen=True)
class Story:
    """The measured facts of a run at initialisation and after training, and their sentences.

    Attributes
    ----------
    k : int
        Neighbours per sample.
    classes : tuple of str
        Class names, indexed like the agreements' rows.
    epochs : tuple of float
        Epoch of the initial and of the trained checkpoint.
    input, initial, trained : KnnAgreement
        kNN label agreement in the inputs, in W_eff at the first checkpoint and at the last.
    initial_similarity, trained_similarity : ClassSimilarity
        Intra-/inter-class centred cosine of W_eff at the two checkpoints.
    apart_at_init : tuple of str
        Classes whose per-class agreement at initialisation is at least :data:`APART`.
    intertwined_at_init : tuple of (str, str, float)
        Pairs whose shared-neighbour share at initialisation is at least :data:`INTERTWINED`,
        most intertwined first.
    untangled : tuple of (str, str, float, float)
        Those pairs whose share fell to at most :data:`UNTANGLED` of it: (a, b, before, after).
    still_intertwined : tuple of (str, str, float, float)
        Those pairs whose share did not.
    sentences : tuple of str
        Plain sentences, each chosen from the numbers above (Markdown, class names quoted).
    """

    k: int
    classes: tuple[str, ...]
    epochs: tuple[float, float]
    input: KnnAgreement
    initial: KnnAgreement
    trained: KnnAgreement
    initial_similarity: ClassSimilarity
    trained_similarity: ClassSimilarity
    apart_at_init: tuple[str, ...]
    intertwined_at_init: tuple[tuple[str, str, float], ...]
    untangled: tuple[tuple[str, str, float, float], ...]
    still_intertwined: tuple[tuple[str, str, float, float], ...]
    sentences: tuple[str, ...]

    def table(self) -> str:
        """Return a Markdown table of the numbers: overall and per class, three spaces."""
        rows = [
            "| | all | " + " | ".join(f"'{c}'" for c in self.classes) + " |",
            "|---|---|" + "---|" * len(self.classes),
        ]
        for name, a in (
            ("inputs", self.input),
            (f"W_eff, initialisation (epoch {self.epochs[0]:g})", self.initial),
            (f"W_eff, trained (epoch {self.epochs[1]:g})", self.trained),
        ):
            cells = " | ".join(_percent(v) for v in a.per_class)
            rows.append(f"| {name} | {_percent(a.overall)} | {cells} |")
        return "\n".join(rows)

    def markdown(self) -> str:
        """Return the sentences as Markdown paragraphs, then the table of agreements."""
        caption = (
            f"*Share of each sample's {self.k} nearest neighbours (centred cosine) "
            "that carry its label:*"
        )
        return "\n\n".join([*self.sentences, caption, self.table()])

    def _repr_markdown_(self) -> str:
        return self.markdown()


def story(run: Run, k: int = 10, checkpoints: Sequence[int] = (0, -1)) -> Story:
    """Measure a run at initialisation and after training, and tell what the numbers show.

    Parameters
    ----------
    run : Run
        A recorded run; its probe samples, labels and class names are used.
    k : int, default 10
        Neighbours per sample for the agreement.
    checkpoints : (int, int), default (0, -1)
        The "initial" and "trained" checkpoint positions (negative counts back).

    Returns
    -------
    Story
        The facts and the sentences; ``story.markdown()`` for a notebook.

    Examples
    --------
    >>> from IPython.display import Markdown, display
    >>> display(Markdown(ll.metrics.story(run).markdown()))  # doctest: +SKIP
    """
    first, last = checkpoint_indices(list(checkpoints), len(run.checkpoints))
    engine = run_weights(run)
    return tell(
        run.probe_inputs,
        engine.weight_features(first),
        engine.weight_features(last),
        run.probe_labels,
        classes=list(run.classes),
        k=k,
        epochs=(run.checkpoints[first].epoch, run.checkpoints[last].epoch),
    )


def tell(
    inputs: Any,
    initial: Any,
    trained: Any,
    labels: Any,
    *,
    classes: Sequence[str] | None = None,
    k: int = 10,
    epochs: tuple[float, float] = (0.0, 1.0),
) -> Story:
    """Measure three spaces of the same samples and choose the sentences from the numbers.

    Parameters
    ----------
    inputs : array-like
        ``(N, ...)`` the samples' inputs.
    initial, trained : array-like
        ``(N, ...)`` their effective weights (or isometric features) at initialisation and
        after training.
    labels : array-like
        ``(N,)`` integer labels ``0 .. C - 1``.
    classes : sequence of str, optional
        Class names (default ``"0" .. "C-1"``).
    k : int, default 10
        Neighbours per sample.
    epochs : (float, float), default (0, 1)
        Epochs of the two checkpoints, for the sentences.

    Returns
    -------
    Story
    """
    y = to_numpy(labels).reshape(-1)
    names = tuple(str(c) for c in classes) if classes is not None else None
    n_classes = len(names) if names is not None else int(y.max()) + 1
    names = names or tuple(str(c) for c in range(n_classes))
    measured = [knn_agreement(x, y, k, n_classes=n_classes) for x in (inputs, initial, trained)]
    inp, ini, trd = measured
    sim0, sim1 = class_similarity(initial, y), class_similarity(trained, y)
    apart = tuple(names[c] for c in np.flatnonzero(np.nan_to_num(ini.per_class) >= APART))
    pairs = _pairs(ini.pair_mixing(), INTERTWINED)
    after = trd.pair_mixing()
    untangled = tuple(
        (names[a], names[b], v, float(after[a, b]))
        for a, b, v in pairs
        if after[a, b] <= UNTANGLED * v
    )
    still = tuple(
        (names[a], names[b], v, float(after[a, b]))
        for a, b, v in pairs
        if after[a, b] > UNTANGLED * v
    )
    intertwined = tuple((names[a], names[b], v) for a, b, v in pairs)
    facts = Story(
        k=inp.k,
        classes=names,
        epochs=(float(epochs[0]), float(epochs[1])),
        input=inp,
        initial=ini,
        trained=trd,
        initial_similarity=sim0,
        trained_similarity=sim1,
        apart_at_init=apart,
        intertwined_at_init=intertwined,
        untangled=untangled,
        still_intertwined=still,
        sentences=(),
    )
    return Story(**{**facts.__dict__, "sentences": tuple(_sentences(facts))})


def _pairs(mixing: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Return the pairs ``(a, b, share)``, ``a < b``, sharing at least ``threshold``, most first."""
    a, b = np.triu_indices(len(mixing), k=1)
    values = np.nan_to_num(mixing[a, b])
    keep = np.flatnonzero(values >= threshold)
    order = keep[np.argsort(-values[keep], kind="stable")]
    return [(int(a[i]), int(b[i]), float(values[i])) for i in order]


def _percent(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.0f} %"


def _quoted(names: Sequence[str]) -> str:
    """``'0'``, ``'0' and '6'``, ``'0', '4' and '6'``."""
    q = [f"'{n}'" for n in names]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " and " + q[-1]


def _pair_list(pairs: Sequence[tuple], *, change: bool) -> str:
    shown = [
        f"'{a}'–'{b}' ({_percent(p[0])} → {_percent(p[1])})"
        if change
        else f"'{a}'–'{b}' ({_percent(p[0])})"
        for a, b, *p in pairs[:MOST_PAIRS]
    ]
    more = len(pairs) - MOST_PAIRS
    return ", ".join(shown) + (
        f" and {more} more pair{'s' if more > 1 else ''}" if more > 0 else ""
    )


def _sentences(s: Story) -> list[str]:
    """Choose one sentence per fact, each worded from the numbers it states."""
    return [
        _input_sentence(s),
        _initial_sentence(s),
        _apart_sentence(s),
        _trained_sentence(s),
        _untangle_sentence(s),
        _similarity_sentence(s),
    ]


def _input_sentence(s: Story) -> str:
    v = s.input.overall
    how = (
        "the data already holds most of the class structure"
        if v >= 0.8
        else "the data holds part of the class structure"
        if v >= 0.5
        else "little of the class structure shows in the raw inputs"
    )
    return (
        f"**In the inputs** themselves, {_percent(v)} of each sample's {s.k} nearest neighbours "
        f"share its label: {how}."
    )


def _initial_sentence(s: Story) -> str:
    v, base = s.initial.overall, s.input.overall
    head = (
        f"**At initialisation** (epoch {s.epochs[0]:g}), {_percent(v)} of the neighbours in "
        "W_eff space agree"
    )
    if abs(v - base) <= SAME:
        return (
            f"{head}: about as many as in the inputs. The untrained network's W_eff mirrors its "
            "input: its weights are random, but the masks D(x) are chosen by x, so similar inputs "
            "switch on similar units and get similar W_eff."
        )
    if v < base and base - v <= CLOSE:
        return (
            f"{head}: nearly as many as in the inputs ({_percent(base)}). The untrained "
            "network's W_eff largely mirrors its input: its weights are random, but the masks "
            "D(x) are chosen by x, so similar inputs switch on similar units and get similar W_eff."
        )
    if v < base:
        return (
            f"{head}: fewer than in the inputs ({_percent(base)}). The random network keeps only "
            "part of the input's neighbourhoods in its W_eff."
        )
    return (
        f"{head}: more than in the inputs ({_percent(base)}). Even the random network's masks "
        "D(x), chosen by x, group the classes more clearly than the raw inputs do."
    )


def _apart_sentence(s: Story) -> str:
    if s.apart_at_init:
        apart = (
            f"Already apart at initialisation: {_quoted(s.apart_at_init)} (at least "
            f"{_percent(APART)} of their neighbours share their label)."
        )
    else:
        apart = (
            f"No class is apart at initialisation (none has {_percent(APART)} of its neighbours "
            "in its own class)."
        )
    if s.intertwined_at_init:
        tangled = (
            " Intertwined at initialisation: "
            + _pair_list(s.intertwined_at_init, change=False)
            + " (the share of the pair's neighbours that belong to the other class)."
        )
    else:
        tangled = (
            f" No two classes are intertwined (no pair shares {_percent(INTERTWINED)} of "
            "its neighbours)."
        )
    return apart + tangled


def _trained_sentence(s: Story) -> str:
    v, v0, base = s.trained.overall, s.initial.overall, s.input.overall
    head = f"**After training** (epoch {s.epochs[1]:g}), {_percent(v)} agree"
    if v - v0 > SAME:
        change = f"up from {_percent(v0)}: training pulled the classes further apart"
    elif v0 - v > SAME:
        change = (
            f"down from {_percent(v0)}: the nearest neighbours in W_eff space are less often of "
            "the same class than at initialisation"
        )
    else:
        change = (
            f"about as many as at initialisation ({_percent(v0)}): the neighbourhoods of W_eff "
            "were largely there from the start"
        )
    relation = (
        "about the inputs' share"
        if abs(v - base) <= SAME
        else "above the inputs' share"
        if v > base
        else "below the inputs' share"
    )
    gains = s.trained.per_class - s.initial.per_class
    best = int(np.nanargmax(gains)) if np.isfinite(gains).any() else -1
    worst = int(np.nanargmin(gains)) if np.isfinite(gains).any() else -1
    gained = (
        f" The class that gained most is '{s.classes[best]}' "
        f"({_percent(s.initial.per_class[best])} → {_percent(s.trained.per_class[best])})."
        if best >= 0 and gains[best] > SAME
        else ""
    )
    lost = (
        f" The class that lost most is '{s.classes[worst]}' "
        f"({_percent(s.initial.per_class[worst])} → {_percent(s.trained.per_class[worst])})."
        if worst >= 0 and gains[worst] < -SAME
        else ""
    )
    return f"{head}, {change}; {relation} ({_percent(base)}).{gained}{lost}"


def _untangle_sentence(s: Story) -> str:
    if not s.intertwined_at_init:
        return (
            "With no intertwined pair at initialisation, there is nothing for training to untangle."
        )
    parts = []
    if s.untangled:
        parts.append("Untangled by training: " + _pair_list(s.untangled, change=True) + ".")
    if s.still_intertwined:
        parts.append(
            "Still intertwined after training: "
            + _pair_list(s.still_intertwined, change=True)
            + "."
        )
    return " ".join(parts)


def _similarity_sentence(s: Story) -> str:
    a0, a1 = s.initial_similarity.intra, s.trained_similarity.intra
    e0, e1 = s.initial_similarity.inter, s.trained_similarity.inter
    intra = (
        "same-class W_eff converge"
        if a1 - a0 > SAME
        else "same-class W_eff move apart"
        if a0 - a1 > SAME
        else "same-class W_eff stay about as alike"
    )
    inter = (
        "different classes diverge"
        if e0 - e1 > SAME
        else "different classes grow more alike"
        if e1 - e0 > SAME
        else "different classes stay about as far apart"
    )
    head = (
        f"Intra-class similarity (mean centred cosine) goes from {a0:.2f} to {a1:.2f} and "
        f"inter-class from {e0:+.2f} to {e1:+.2f}: {intra} and {inter}."
    )
    flat = abs(s.trained.overall - s.initial.overall) <= SAME
    if flat and a1 - a0 > SAME:
        head += (
            " What training adds here is cohesion, not new neighbours: the classes were already "
            "grouped, and their members' linear models become more alike."
        )
    return head
