"""The run store: :class:`Run` (checkpoints + probe + analysis artifacts), saved as plain files.

A run folder holds ``manifest.json`` (see :mod:`linlens_widgets.runs._manifest`), one
``checkpoints/NNNN.safetensors`` per checkpoint, ``probe.safetensors`` and
``analysis/<name>.safetensors``. Saving is atomic (temporary sibling + rename); loading reads JSON
and safetensors only, never pickle, so opening a folder never runs code from it.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import torch
from torch import nn

from linlens_widgets.runs import _manifest, _sfio
from linlens_widgets.runs._atomic import replace_directory
from linlens_widgets.runs._cache import TensorCache
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs._probe import Probe
from linlens_widgets.runs._swap import check_replaceable

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.lens.effective import EffectiveWeights

__all__ = ["Checkpoint", "Run", "RunFormatError"]

#: What ``Run.load(model=...)`` accepts: a callable that builds the architecture, or a module.
ModelSource: TypeAlias = Callable[[], nn.Module] | nn.Module

#: Default memory budget of a run's cache of effective weights and features (bytes).
DEFAULT_CACHE_BYTES = 1 << 30

_META_KEY = "linlens_meta"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Checkpoint:
    """One recorded moment of training.

    Attributes
    ----------
    index : int
        Position in ``run.checkpoints``.
    epoch : float
        Epochs completed (fractional between epoch ends; 0 is initialisation).
    step : int
        Optimizer steps completed.
    metrics : dict[str, float]
        ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc`` and any extra values.
    wall_time : float
        Seconds since training (the recorder) started.
    """

    index: int
    epoch: float
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    wall_time: float = 0.0


class Run:
    """A recorded training run: checkpoints, the probe samples, and analysis artifacts.

    Runs come from :func:`linlens_widgets.train`, :attr:`Recorder.run` or :meth:`Run.load`.
    Everything per checkpoint is computed on demand from the stored weights: :meth:`model_at`,
    :meth:`effective_weights`, :meth:`weight_features`, :meth:`predictions` (the last three are
    cached per instance, within ``cache_bytes``).

    Attributes
    ----------
    checkpoints : list[Checkpoint]
    dataset_name, dataset_hash : str
    image_shape : tuple[int, int]
    classes : tuple[str, ...]
    probe_inputs : Tensor (N, D) float32
    probe_labels : Tensor (N,) int64
    probe_indices : Tensor (N,) int64
        Indices into the dataset's test split; -1 for probe samples given as tensors.
    model_spec : dict or None
        The preset spec (see :func:`linlens_widgets.models.spec_of`); None for user modules.
    config : dict
        Training settings (epochs, lr, optimizer, ...): from :func:`train`, or the ``config``
        given to a :class:`Recorder`.
    path : Path or None
        The folder this run was loaded from or last saved to; attachments are written there too.
    device : str, torch.device or None
        Where the engine computes effective weights (results come back on the CPU).

    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> run = ll.train(ll.models.mlp(64, [32], 10), data, epochs=1, progress=False)
    >>> run.checkpoints[0].step, run.model_at(-1)(run.probe_inputs).shape
    (0, torch.Size([450, 10]))
    """

    def __init__(
        self,
        *,
        checkpoints: list[Checkpoint],
        states: list[dict[str, torch.Tensor]],
        probe: Probe,
        dataset_name: str,
        dataset_hash: str,
        image_shape: tuple[int, int],
        classes: tuple[str, ...],
        model_spec: dict[str, Any] | None,
        model_factory: Callable[[], nn.Module],
        model_class: str,
        config: dict[str, Any] | None = None,
        attachments: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] | None = None,
        path: Path | None = None,
    ) -> None:
        if len(checkpoints) != len(states):
            raise ValueError(f"{len(checkpoints)} checkpoints but {len(states)} weight sets")
        self._checkpoints = list(checkpoints)
        self._states = list(states)
        self._probe = probe
        self.dataset_name = dataset_name
        self.dataset_hash = dataset_hash
        self.image_shape = tuple(image_shape)
        self.classes = tuple(classes)
        self.model_spec = copy.deepcopy(model_spec)
        self._factory = model_factory
        self.model_class = model_class
        self.config = dict(config or {})
        self._attachments = dict(attachments or {})
        self.path = None if path is None else Path(path)
        self.device: str | torch.device | None = None
        self._cache = TensorCache(DEFAULT_CACHE_BYTES)
        self._predictions: dict[int, torch.Tensor] = {}

    # ------------------------------------------------------------------ plain accessors

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints in training order (a copy of the list)."""
        return list(self._checkpoints)

    @property
    def probe_inputs(self) -> torch.Tensor:
        """Probe inputs, float32 (N, D), on the CPU."""
        return self._probe.inputs

    @property
    def probe_labels(self) -> torch.Tensor:
        """Probe labels, int64 (N,)."""
        return self._probe.labels

    @property
    def probe_indices(self) -> torch.Tensor:
        """Probe positions in the dataset's test split, int64 (N,); -1 for custom samples."""
        return self._probe.indices

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def cache_bytes(self) -> int:
        """Memory budget of the per-run cache of effective weights and features."""
        return self._cache.max_bytes

    @cache_bytes.setter
    def cache_bytes(self, value: int) -> None:
        self._cache.max_bytes = int(value)

    def __len__(self) -> int:
        return len(self._checkpoints)

    def __repr__(self) -> str:
        arch = self.model_spec["preset"] if self.model_spec else self.model_class
        last = self._checkpoints[-1]
        return (
            f"Run({self.dataset_name!r}, model={arch}, checkpoints={len(self)}, "
            f"probe={len(self.probe_labels)}, epochs={last.epoch:g}, steps={last.step})"
        )

    def metric(self, name: str) -> np.ndarray:
        """Return one metric over the checkpoints as a float array (NaN where it is absent).

        ``"epoch"``, ``"step"`` and ``"wall_time"`` work too.

        >>> run.metric("test_acc").shape  # doctest: +SKIP
        (20,)
        """
        if name in ("epoch", "step", "wall_time"):
            return np.array([getattr(c, name) for c in self._checkpoints], dtype=np.float64)
        return np.array(
            [c.metrics.get(name, math.nan) for c in self._checkpoints], dtype=np.float64
        )

    # ------------------------------------------------------------------ per-checkpoint models

    def _index(self, i: int) -> int:
        n = len(self._checkpoints)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"checkpoint index {i!r} out of range for a run of {n} checkpoints")
        return int(i) % n

    def state_dict_at(self, i: int) -> dict[str, torch.Tensor]:
        """Return checkpoint ``i``'s weights as new CPU tensors (negative ``i`` counts back)."""
        return {k: v.clone() for k, v in self._states[self._index(i)].items()}

    def model_at(self, i: int) -> nn.Module:
        """Return a fresh module holding checkpoint ``i``'s weights, in eval mode, on the CPU.

        >>> run.model_at(0)(run.probe_inputs[:2]).shape  # doctest: +SKIP
        torch.Size([2, 10])
        """
        model = self._factory()
        model.load_state_dict(self._states[self._index(i)], strict=True)
        return model.cpu().eval()

    def effective_weights(self, i: int, *, patterns: bool = False) -> EffectiveWeights:
        """Effective weights of the probe samples at checkpoint ``i`` (cached).

        Parameters
        ----------
        i : int
            Checkpoint index (negative counts back).
        patterns : bool, default False
            Also return the activation patterns.

        Returns
        -------
        EffectiveWeights
            ``.weight`` (N, C, D), ``.bias``, ``.output``, ``.patterns`` (see
            :func:`linlens_widgets.effective_weights`).
        """
        from linlens_widgets.lens.effective import effective_weights

        i = self._index(i)
        cached = self._cache.get(("ew", i, True))
        if cached is None and not patterns:
            cached = self._cache.get(("ew", i, False))
        if cached is not None:
            return cached
        result = effective_weights(
            self.model_at(i), self.probe_inputs, device=self.device, return_patterns=patterns
        )
        self._cache.put(("ew", i, patterns), result)
        return result

    def weight_features(self, i: int) -> torch.Tensor:
        """Isometric features (N, k) of the probe samples' effective weights at checkpoint ``i``.

        Distances and inner products between rows equal those between the flattened W_eff, at a
        fraction of the size (see :func:`linlens_widgets.lens.effective.weight_features`). Cached.
        """
        from linlens_widgets.lens.effective import weight_features

        i = self._index(i)
        cached = self._cache.get(("features", i))
        if cached is None:
            cached = weight_features(self.model_at(i), self.probe_inputs, device=self.device)
            self._cache.put(("features", i), cached)
        return cached

    def predictions(self, i: int) -> torch.Tensor:
        """Predicted class (argmax of the outputs) of every probe sample at checkpoint ``i``."""
        i = self._index(i)
        if i not in self._predictions:
            model = self.model_at(i)
            with torch.no_grad():
                outputs = torch.cat([model(x) for x in self.probe_inputs.split(4096)])
            self._predictions[i] = outputs.argmax(dim=1).to(torch.int64)
        return self._predictions[i].clone()

    # ------------------------------------------------------------------ analysis artifacts

    def attach(self, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Store an analysis artifact (arrays + JSON metadata) with the run.

        Saved as ``analysis/<name>.safetensors`` by :meth:`save`; when the run already has a
        folder (it was loaded or saved), the file is written there at once as well.

        Parameters
        ----------
        name : str
            Letters, digits, ``_``, ``-``, ``.``; replaces an artifact of the same name.
        arrays : dict[str, numpy.ndarray]
            Numeric arrays (no object dtype).
        meta : dict
            JSON-serialisable metadata.

        >>> run.attach("note", {"x": np.arange(3.0)}, {"about": "demo"})  # doctest: +SKIP
        >>> run.attachment("note")[1]  # doctest: +SKIP
        {'about': 'demo'}
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"attachment name {name!r} must match {_NAME.pattern}")
        if not isinstance(meta, dict):
            raise ValueError(f"attachment meta must be a dict, got {type(meta).__name__}")
        meta = _sfio.jsonable(meta, f"meta of attachment {name!r}")
        clean = {}
        for key, value in arrays.items():
            array = np.array(value)
            if not isinstance(key, str) or array.dtype.kind not in "biuf":
                raise ValueError(f"attachment {name!r}: array {key!r} must be numeric")
            clean[key] = array
        self._attachments[name] = (clean, meta)
        if self.path is not None:
            self._persist_attachment(name)

    def attachment(self, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """Return ``(arrays, meta)`` of an attached artifact (copies), or ``None`` if absent."""
        item = self._attachments.get(name)
        if item is None:
            return None
        arrays, meta = item
        return {k: v.copy() for k, v in arrays.items()}, copy.deepcopy(meta)

    @property
    def attachments(self) -> list[str]:
        """Names of the attached analysis artifacts."""
        return sorted(self._attachments)

    def _persist_attachment(self, name: str) -> None:
        assert self.path is not None
        folder = self.path / _manifest.ANALYSIS_DIR
        tmp = folder / f".{name}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir(exist_ok=True)
            _write_attachment(tmp, *self._attachments[name])
            os.replace(tmp, folder / f"{name}.safetensors")
        except OSError as err:
            tmp.unlink(missing_ok=True)
            warnings.warn(
                f"could not write attachment {name!r} to {folder} ({err}); it is kept in memory "
                "and written by the next run.save()",
                stacklevel=3,
            )

    # ------------------------------------------------------------------ save / load

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write the run to folder ``path`` atomically.

        The folder is written as a temporary sibling and renamed into place; with
        ``overwrite=True`` an existing run there is renamed aside, replaced, and deleted only after
        the swap. Any failure, a killed process included, leaves a loadable run at ``path``: an
        old run left aside by a kill is put back by the next :meth:`load` or :meth:`save`.

        Only a run this package wrote is replaced: the folder must hold a linlens
        ``manifest.json`` and nothing but the files of a run (no symlinks, no files of your own),
        or be empty. See ``docs/SECURITY.md``.

        Parameters
        ----------
        path : str or PathLike
            Destination folder (its parent is created if needed).
        overwrite : bool, default False
            Replace an existing run folder at ``path``.

        Returns
        -------
        Path
            The folder written (also stored as ``run.path``).

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False; or it exists and is not a linlens run
            folder, or holds a file a run does not (the message names it).

        >>> run.save("runs/digits")  # doctest: +SKIP
        """
        target = Path(path).expanduser().absolute()
        replace_directory(
            target,
            self._write_folder,
            overwrite=overwrite,
            check_replaceable=check_replaceable,
        )
        self.path = target
        return target

    def _write_folder(self, folder: Path) -> None:
        (folder / _manifest.CHECKPOINT_DIR).mkdir()
        _write_tensors(
            folder / _manifest.PROBE_FILE,
            {
                "inputs": self.probe_inputs,
                "labels": self.probe_labels,
                "indices": self.probe_indices,
            },
            {"format": "linlens-probe"},
        )
        for ckpt, state in zip(self._checkpoints, self._states, strict=True):
            meta = {
                "format": "linlens-checkpoint",
                "index": str(ckpt.index),
                "step": str(ckpt.step),
            }
            _write_tensors(folder / _manifest.checkpoint_file(ckpt.index), state, meta)
        if self._attachments:
            (folder / _manifest.ANALYSIS_DIR).mkdir()
            for name, (arrays, meta) in self._attachments.items():
                _write_attachment(
                    folder / _manifest.ANALYSIS_DIR / f"{name}.safetensors", arrays, meta
                )
        manifest = folder / _manifest.MANIFEST
        manifest.write_text(_manifest.dumps(self._manifest()), encoding="utf-8")

    def _manifest(self) -> dict[str, Any]:
        from linlens_widgets import __version__

        first = self._states[0]
        return {
            "format": _manifest.FORMAT,
            "schema_version": _manifest.SCHEMA_VERSION,
            "library_version": __version__,
            "saved_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": {
                "spec": self.model_spec,
                "class": self.model_class,
                "tensors": {
                    k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
                    for k, v in first.items()
                },
            },
            "dataset": {
                "name": self.dataset_name,
                "content_hash": self.dataset_hash,
                "image_shape": list(self.image_shape),
                "classes": list(self.classes),
            },
            "probe": {
                "file": _manifest.PROBE_FILE,
                "n": len(self.probe_labels),
                "indices": self.probe_indices.tolist(),
            },
            "training": _sfio.jsonable(self.config, "training config") if self.config else None,
            "checkpoints": [
                {
                    "index": c.index,
                    "epoch": float(c.epoch),
                    "step": int(c.step),
                    "wall_time": float(c.wall_time),
                    "metrics": {
                        k: _manifest.metric_to_json(float(v)) for k, v in c.metrics.items()
                    },
                }
                for c in self._checkpoints
            ],
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: ModelSource | None = None) -> Run:
        """Load a run folder written by :meth:`save`, validating every file.

        Parameters
        ----------
        path : str or PathLike
            The run folder.
        model : callable or nn.Module, optional
            Builds the architecture (a callable returning a fresh module, or a module used as a
            template). Needed for runs of your own modules; presets are rebuilt from the manifest.

        Returns
        -------
        Run

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        RunFormatError
            For a damaged or foreign folder: invalid JSON, unknown or newer schema version, a
            missing or non-safetensors file, tensors whose names or shapes do not match the model,
            or a user-module run loaded without ``model=``. The message names the file.

        >>> run = Run.load("runs/digits")  # doctest: +SKIP
        """
        from linlens_widgets.runs._loader import load_run

        return load_run(cls, Path(path).expanduser().absolute(), model)


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write one safetensors file of a run (a seam where tests inject failures)."""
    _sfio.write_tensors(path, tensors, metadata)


def _write_attachment(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    _sfio.write_arrays(path, arrays, {_META_KEY: json.dumps(meta, allow_nan=False)})
