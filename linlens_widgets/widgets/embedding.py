"""EmbeddingView: a WebGL scatter of every probe sample's embedded effective weights.

All checkpoints' 2-D positions go to the browser once as one float32 buffer (E × N × 2), so moving
``checkpoint`` animates on the client with no kernel round-trip. Pan, zoom, lasso (shift+drag or the
lasso tool), box selection, click to pick, a hover tooltip with the sample's input image, colour by
label (legend click filters a class), by correctness at the shown checkpoint, or by any per-sample
array.

>>> import linlens_widgets as ll
>>> view = ll.EmbeddingView(run)  # doctest: +SKIP
>>> view.checkpoint = 5  # doctest: +SKIP
>>> view.on_select(lambda idx: print(len(idx), "selected"))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from linlens_widgets.analysis.source import is_source
from linlens_widgets.analysis.trajectory import Trajectory, TrajectoryLike
from linlens_widgets.widgets import _sources
from linlens_widgets.widgets._bundle import bundle
from linlens_widgets.widgets._codecs import array_serialization, to_wire_array
from linlens_widgets.widgets.contract import CONTRACT
from linlens_widgets.widgets.run_facts import RunFacts
from linlens_widgets.widgets.validate import (
    checkpoint_position,
    class_ids,
    height_px,
    index_list,
    set_state_or_keep,
    size_px,
)

COLOR_MODES = ("label", "correct", "value", "subclusters")
SUBCLUSTER_PREFIX = "subclusters:"
MENU_PATTERN: str = CONTRACT["widgets"]["EmbeddingView"]["traits"]["color"]["menu_pattern"]
"""What the Colour menu may hold: a mode, or ``subclusters:c`` (the contract's pattern)."""

MAX_POINT_SIZE = 100.0
"""Largest point size in pixels (0 means: chosen from the number of points)."""


class EmbeddingView(anywidget.AnyWidget):
    """WebGL scatter of a trajectory; ``checkpoint`` and ``selection`` sync both ways.

    Parameters
    ----------
    trajectory_or_run
        A ``Trajectory`` (from ``ll.embed``), a ``Run`` (its stored trajectory, or one computed
        as ``LensExplorer`` does, with a message and a progress bar), or an array of positions
        (E, N, 2).
    run
        The run the trajectory was computed from, for thumbnails, class names and correctness
        colouring (default: the run passed first, if any).
    color
        ``"label"`` (default), ``"correct"`` (misclassified at the shown checkpoint in red),
        ``"subclusters:c"`` (the sub-clusters of class ``c`` found at the last checkpoint and
        followed through training, ``ll.metrics.track_all_subclusters``; other points grey), or
        an array of per-sample values (N,) or per-checkpoint values (E, N) shown with a
        continuous colour map and a colour bar.
    value_name
        Name of the values in the colour bar and tooltip (default ``"value"``).
    size
        Point size in pixels (default: chosen from the number of points).
    thumbnails
        Send the probe images once (uint8 atlas) for the hover tooltip (default True).
    subclusters
        Whether the Colour menu lists "sub-clusters of c" for each class with two or more
        tracked groups: ``True`` tracks them (``ll.metrics.track_all_subclusters``, stored with
        the run), ``None`` (default) lists them when the run already stores them, ``False``
        never.
    checkpoint
        Checkpoint position to show first (default -1, the last).
    height
        Plot height in pixels (default 420).
    facts
        The run's facts, worked out once by ``LensExplorer`` for all its widgets (default:
        worked out here from the run and the trajectory).

    Raises
    ------
    ValueError
        When the trajectory's N does not match the run, or a colour array has the wrong length.

    Examples
    --------
    >>> view = EmbeddingView(ll.embed(run), run=run, color="correct")  # doctest: +SKIP
    """

    _esm = bundle("embedding.js")

    checkpoint = traitlets.Int(0).tag(sync=True)
    selection = traitlets.List(traitlets.Int()).tag(sync=True)
    color = traitlets.Unicode("label").tag(sync=True)
    hidden_classes = traitlets.List(traitlets.Int()).tag(sync=True)
    point_size = traitlets.Float(0.0).tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    value_name = traitlets.Unicode("value").tag(sync=True)
    marked_a = traitlets.List(traitlets.Int()).tag(sync=True)
    marked_b = traitlets.List(traitlets.Int()).tag(sync=True)
    highlighted = traitlets.List(traitlets.Int()).tag(sync=True)
    trails = traitlets.Bool(False).tag(sync=True)
    groups_class = traitlets.Int(-1).tag(sync=True)

    _positions = traitlets.Any(None).tag(sync=True, **array_serialization)
    _labels = traitlets.Any(None).tag(sync=True, **array_serialization)
    _predictions = traitlets.Any(None).tag(sync=True, **array_serialization)
    _thumbnails = traitlets.Any(None).tag(sync=True, **array_serialization)
    _values = traitlets.Any(None).tag(sync=True, **array_serialization)
    _classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _checkpoint_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _groups = traitlets.Any(None).tag(sync=True, **array_serialization)

    def __init__(
        self,
        trajectory_or_run: Any,
        *,
        run: Any | None = None,
        color: str | np.ndarray | Any = "label",
        value_name: str = "value",
        size: float | None = None,
        thumbnails: bool = True,
        subclusters: bool | None = None,
        checkpoint: int = -1,
        height: int = 420,
        facts: RunFacts | None = None,
        **kwargs: Any,
    ) -> None:
        trajectory, run = _resolve(trajectory_or_run, run)
        positions = _sources.check_positions(
            trajectory.positions if trajectory is not None else trajectory_or_run
        )
        n_checkpoints, n_points = positions.shape[:2]
        facts = facts or _facts(run, trajectory, positions)
        self._n_checkpoints = int(n_checkpoints)
        self._n_points = int(n_points)
        self.run = run
        self.trajectory = trajectory
        self.checkpoint_ids = facts.checkpoint_ids
        mode, values = _color_mode(color, n_checkpoints, n_points)
        if mode == "correct" and run is None:
            raise ValueError('color="correct" needs the run (pass run=...)')
        groups_class, groups = -1, None
        if mode.startswith(SUBCLUSTER_PREFIX):
            groups_class = _subcluster_class(mode)
            if run is None:
                raise ValueError(f"color={mode!r} needs the run (pass run=...)")
            groups = subcluster_groups(_track_all(run), n_points)
            mode = "subclusters"
        elif run is not None and subclusters is not False:
            groups = stored_subcluster_groups(run, n_points, compute=bool(subclusters))
        shown = thumbnails and facts.input_shape is not None
        super().__init__(
            _positions=positions,
            _labels=facts.labels,
            _classes=list(facts.classes),
            _checkpoint_labels=facts.frame_labels,
            _predictions=_predictions(facts),
            _thumbnails=_sources.thumbnails(run, facts.input_shape) if shown else None,
            _values=values,
            _groups=groups,
            groups_class=groups_class,
            color=mode,
            value_name=value_name,
            point_size=float(size or 0.0),
            height=int(height),
            checkpoint=checkpoint_position(checkpoint, n_checkpoints),
            **kwargs,
        )

    # ------------------------------------------------------------------ validation
    @traitlets.validate("checkpoint")
    def _valid_checkpoint(self, proposal: dict[str, Any]) -> int:
        return checkpoint_position(proposal["value"], self._n_checkpoints)

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: dict[str, Any]) -> list[int]:
        return index_list(proposal["value"], self._n_points, "selection")

    @traitlets.validate("color")
    def _valid_color(self, proposal: dict[str, Any]) -> str:
        mode = proposal["value"]
        if mode not in COLOR_MODES:
            raise ValueError(f"color must be one of {COLOR_MODES}, got {mode!r}")
        if mode == "value" and self._values is None:
            raise ValueError('color="value" needs values; pass an array as color=...')
        if mode == "correct" and self._predictions is None:
            raise ValueError('color="correct" needs the run the trajectory came from')
        if mode == "subclusters" and self._groups is None:
            raise ValueError('color="subclusters" needs groups; call color_subclusters(c) first')
        return mode

    @traitlets.validate("marked_a", "marked_b", "highlighted")
    def _valid_marks(self, proposal: dict[str, Any]) -> list[int]:
        name = proposal["trait"].name
        try:
            return index_list(proposal["value"], self._n_points, name)
        except ValueError as e:
            raise traitlets.TraitError(str(e)) from None

    @traitlets.validate("groups_class")
    def _valid_groups_class(self, proposal: dict[str, Any]) -> int:
        c = proposal["value"]
        if c == -1:
            return c
        groups, labels = self._groups, np.asarray(self._labels)
        if groups is None:
            raise traitlets.TraitError("groups_class needs groups; call color_subclusters(c)")
        counts = subcluster_counts(np.asarray(groups), labels)
        if counts.get(int(c), 0) < 2:
            have = sorted(k for k, n in counts.items() if n >= 2)
            raise traitlets.TraitError(
                f"class {c} has no sub-clusters to colour; classes with two or more: {have}"
            )
        return int(c)

    # ------------------------------------------------------------------ public API
    @property
    def n_points(self) -> int:
        """Number of points (probe samples) in the scatter."""
        return self._n_points

    @property
    def n_checkpoints(self) -> int:
        """Number of checkpoints (frames) the scatter can show."""
        return self._n_checkpoints

    def on_select(self, callback: Callable[[list[int]], Any], *, remove: bool = False) -> None:
        """Call ``callback(selection)`` whenever the selection changes (in the browser or here).

        Parameters
        ----------
        callback
            Receives the new list of selected probe indices.
        remove
            Unregister a callback registered before (default False).

        Examples
        --------
        >>> view.on_select(lambda idx: print(idx))  # doctest: +SKIP
        """
        handler = self._select_handlers.get(callback)
        if remove:
            if handler is not None:
                self.unobserve(handler, names="selection")
                del self._select_handlers[callback]
            return

        def _handler(change: dict[str, Any]) -> None:
            callback(list(change["new"]))

        self._select_handlers[callback] = _handler
        self.observe(_handler, names="selection")

    @property
    def _select_handlers(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        if not hasattr(self, "_handlers_store"):
            self._handlers_store: dict[Callable[..., Any], Callable[..., Any]] = {}
        return self._handlers_store

    def set_values(self, values: Any, name: str = "value") -> None:
        """Colour the points by a per-sample (N,) or per-checkpoint (E, N) array.

        Raises
        ------
        ValueError
            Naming the shape when it matches neither.
        """
        _, encoded = _color_mode(values, self._n_checkpoints, self._n_points)
        self.set_trait("_values", encoded)
        self.value_name = name
        self.color = "value"

    def color_subclusters(self, cls: int, tracks: Any | None = None) -> None:
        """Colour the sub-clusters of class ``cls``, the same samples at every checkpoint.

        The groups are those of ``ll.metrics.track_all_subclusters`` (found at the last
        checkpoint and followed through training), so scrubbing back to initialisation shows
        whether the samples grouped at the end were grouped from the start. Points of other
        classes, and of no group, are grey. The colour select then offers every class with two
        or more groups.

        Parameters
        ----------
        cls
            The class whose groups are coloured.
        tracks
            The result of ``track_all_subclusters`` (a dict class → track) or an int array (N,)
            of group ids, -1 outside any group (default: computed from, or read with, the run).

        Raises
        ------
        ValueError
            When there is no run and no ``tracks``, or ``tracks`` has the wrong length.
        traitlets.TraitError
            When class ``cls`` has fewer than two groups.

        Examples
        --------
        >>> view.color_subclusters(1)  # doctest: +SKIP
        """
        if tracks is None:
            if self.run is None:
                raise ValueError("color_subclusters needs the run or tracks=...")
            tracks = _track_all(self.run)
        groups = subcluster_groups(tracks, self._n_points)
        with self.hold_trait_notifications():
            self.set_trait("_groups", groups)
            self.groups_class = int(cls)
            self.color = "subclusters"

    def reset_view(self) -> None:
        """Zoom the scatter back out to show every point."""
        self.send({"type": "reset_view"})

    def zoom_to_selection(self) -> None:
        """Zoom the scatter to the selected points.

        Raises
        ------
        ValueError
            When the selection is empty.
        """
        if not self.selection:
            raise ValueError("the selection is empty; select points first (lasso, box or click)")
        self.send({"type": "zoom_to_selection"})

    def save_html(self, path: str | Path, *, title: str = "linlens embedding") -> Path:
        """Write this scatter as a single self-contained page (no kernel, no network).

        The page holds every point at every checkpoint, so scrubbing with the checkpoint slider of
        a saved explorer, or setting ``checkpoint`` here before saving, works offline.

        Examples
        --------
        >>> view.save_html("embedding.html")  # doctest: +SKIP
        """
        from linlens_widgets.widgets._page import write_single

        # The shown checkpoint is said by the scatter's badge, which follows it; a sentence
        # written here would go stale as soon as the checkpoint changes in the page.
        note = (
            f"Saved page: no kernel needed. {self._n_points:,} points at each of "
            f"{self._n_checkpoints} checkpoints."
        )
        return write_single(self, "embedding", Path(path), title=title, note=note)

    def positions_at(self, checkpoint: int | None = None) -> np.ndarray:
        """Positions (N, 2) shown at checkpoint position ``checkpoint`` (default: the current)."""
        k = (
            self.checkpoint
            if checkpoint is None
            else checkpoint_position(checkpoint, self.n_checkpoints)
        )
        return np.asarray(self._positions[k])

    # ------------------------------------------------------------------ boundary validation
    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return height_px(proposal["value"])

    @traitlets.validate("point_size")
    def _valid_point_size(self, proposal: dict[str, Any]) -> float:
        return size_px(proposal["value"], MAX_POINT_SIZE, "point_size")

    @traitlets.validate("hidden_classes")
    def _valid_hidden_classes(self, proposal: dict[str, Any]) -> list[int]:
        return class_ids(proposal["value"], len(self._classes), "hidden_classes")

    # ------------------------------------------------------------------ browser boundary
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply an update from the browser; a bad value is refused, logged and sent back."""
        set_state_or_keep(self, super().set_state, sync_data)


def _resolve(obj: Any, run: Any | None) -> tuple[Any | None, Any | None]:
    """Split the first argument into (trajectory, run)."""
    if is_source(obj):
        return _sources.trajectory_of(obj), run if run is not None else obj
    if isinstance(obj, TrajectoryLike):
        return obj, run
    if isinstance(obj, np.ndarray) or hasattr(obj, "shape"):
        return None, run
    raise TypeError(
        f"expected a Trajectory, a Run or a positions array (E, N, 2), got {type(obj).__name__}"
    )


def _facts(run: Any | None, trajectory: Any | None, positions: np.ndarray) -> RunFacts:
    """Work out what a scatter shows: its run over the trajectory's frames, else its layout."""
    if run is not None:
        n_checkpoints = positions.shape[0]
        frames = None if trajectory is not None else range(n_checkpoints)
        return RunFacts.of_run(run, trajectory=trajectory, checkpoints=frames)
    return RunFacts.of_trajectory(trajectory if trajectory is not None else Trajectory(positions))


def _predictions(facts: RunFacts) -> np.ndarray | None:
    """Every probe sample's predicted class at each frame (E, N); None without a run."""
    if facts.source is None:
        return None
    return _sources.predictions(facts.source, facts.checkpoint_ids)


def _color_mode(color: Any, n_checkpoints: int, n_points: int) -> tuple[str, np.ndarray | None]:
    """Turn the ``color`` argument into (mode, values array or None)."""
    if isinstance(color, str):
        if color.startswith(SUBCLUSTER_PREFIX):
            _subcluster_class(color)
            return color, None
        if color not in ("label", "correct"):
            raise ValueError(
                f'color must be "label", "correct", "subclusters:<class>" or an array, '
                f"got {color!r}"
            )
        return color, None
    values = to_wire_array(color, "float32")
    if values.shape not in ((n_points,), (n_checkpoints, n_points)):
        raise ValueError(
            f"color values must have shape ({n_points},) or ({n_checkpoints}, {n_points}), "
            f"got {values.shape}"
        )
    return "value", values


def _subcluster_class(mode: str) -> int:
    """Read the class out of a ``"subclusters:c"`` colour argument (the Colour menu's value)."""
    if not re.match(MENU_PATTERN, mode):
        raise ValueError(f'color "subclusters:<class>" needs an integer class, got {mode!r}')
    return int(mode[len(SUBCLUSTER_PREFIX) :])


def stored_subcluster_groups(run: Any, n_points: int, *, compute: bool) -> np.ndarray | None:
    """Every sample's tracked sub-cluster within its class (N,), or None.

    ``compute=False`` reads only what is stored with the run (a previous
    ``ll.metrics.track_all_subclusters(run)``, or a ``"subclusters:c"`` colouring), so showing
    the Colour menu's "sub-clusters of c" entries costs nothing when they were never computed.
    """
    from linlens_widgets.analysis.subcluster_tracking import ATTACHMENT as TRACKS

    if not compute and _sources.analysis_entry(run, TRACKS) is None:
        return None
    return subcluster_groups(_track_all(run), n_points)


def menu_classes(groups: np.ndarray | None, labels: np.ndarray) -> list[int]:
    """Classes with two or more tracked sub-clusters: the Colour menu's "sub-clusters of c"."""
    if groups is None:
        return []
    return sorted(c for c, n in subcluster_counts(np.asarray(groups), labels).items() if n >= 2)


def ordinary_sample(labels: np.ndarray, groups: np.ndarray | None) -> int:
    """Choose a sample whose marker does not sit on tracked sub-clusters (the explorer's A).

    The first sample of a class without two tracked groups, else the first sample in no group,
    else 0.
    """
    if groups is None:
        return 0
    groups = np.asarray(groups)
    split = set(menu_classes(groups, labels))
    plain = np.flatnonzero(~np.isin(labels, sorted(split)))
    if plain.size:
        return int(plain[0])
    outside = np.flatnonzero(groups < 0)
    return int(outside[0]) if outside.size else 0


def _track_all(run: Any) -> Any:
    """Every class's tracked sub-clusters of a run (stored with the run after the first call)."""
    from linlens_widgets.analysis.subcluster_tracking import track_all_subclusters

    return track_all_subclusters(run)


def subcluster_groups(tracks: Any, n_points: int) -> np.ndarray:
    """One int32 array (N,) of sub-cluster ids from tracked sub-clusters.

    Each sample belongs to one class, so every class's groups fit in one array: entry ``i`` is
    sample ``i``'s group within its own class, -1 when it is in no group.

    Parameters
    ----------
    tracks
        A dict class → ``SubclusterTrack`` (``track_all_subclusters``), or an int array (N,).
    n_points
        Number of probe samples.

    Raises
    ------
    ValueError
        When a track or the array does not have ``n_points`` entries.
    """
    if isinstance(tracks, dict):
        out = np.full(n_points, -1, np.int32)
        for cls, track in tracks.items():
            ids = np.asarray(track.group_ids)
            if ids.shape != (n_points,):
                raise ValueError(
                    f"sub-clusters of class {cls} cover {ids.shape} samples, not ({n_points},)"
                )
            out[ids >= 0] = ids[ids >= 0]
        return out
    arr = np.asarray(tracks)
    if arr.shape != (n_points,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"group ids must be an int array of shape ({n_points},), got {arr.shape}")
    return np.where(arr >= 0, arr, -1).astype(np.int32)


def subcluster_counts(groups: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Count the sub-clusters of each class (classes without any group are left out)."""
    out: dict[int, int] = {}
    for c in np.unique(labels):
        ids = groups[(labels == c) & (groups >= 0)]
        if ids.size:
            out[int(c)] = int(np.unique(ids).size)
    return out
