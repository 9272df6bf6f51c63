"""The run store: :class:`Run`, the record of a training run, saved as plain files.

A run folder holds ``manifest.json`` (see :mod:`linlens_widgets.runs._manifest`), one
``checkpoints/NNNN.safetensors`` per checkpoint, ``probe.safetensors`` and the analysis store's
``analysis/<name>.safetensors`` (format: :mod:`linlens_widgets.runs.analysis_files`; meaning:
:class:`linlens_widgets.analysis.store.AnalysisStore`). Computing from the checkpoints (effective
weights, features, predictions) belongs to :mod:`linlens_widgets.analysis.weights`. Saving is
atomic (temporary sibling + rename); loading reads JSON and safetensors only, never pickle, so
opening a folder never runs code from it.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from linlens_widgets.runs import _manifest, _sfio
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs._loader import ModelSource, load_run
from linlens_widgets.runs._probe import Probe
from linlens_widgets.runs._sfio import jsonable
from linlens_widgets.runs._swap import check_replaceable
from linlens_widgets.runs.analysis_files import ANALYSIS_DIR, AnalysisEntry, write_entry
from linlens_widgets.runs.atomic_write import replace_directory
from linlens_widgets.runs.checkpoint import Checkpoint
from linlens_widgets.runs.display import InputDisplay, check_display, to_uint8
from linlens_widgets.runs.from_checkpoints import run_from_checkpoints
from linlens_widgets.runs.indexing import checkpoint_index

__all__ = [
    "Checkpoint",
    "Run",
    "RunFormatError",
    "check_replaceable",
    "jsonable",
    "read_manifest",
]

# Also public here for callers outside ``runs`` that check ahead what ``Run.save`` will accept:
# ``check_replaceable(path)`` (may ``overwrite=True`` replace that folder?) and
# ``jsonable(value, what)`` (does a training config survive the manifest's strict JSON?).


class Run:
    """The record of a training run: manifest, checkpoints, probe samples; load and save.

    Runs come from :func:`linlens_widgets.train`, :attr:`Recorder.run` or :meth:`Run.load`.
    A run rebuilds any checkpoint's model (:meth:`model_at`); what is computed from those models
    (effective weights, features, predictions) lives in the analysis layer
    (:func:`linlens_widgets.analysis.weights.run_weights`), and computed analysis is kept in the
    run's analysis store (:class:`linlens_widgets.analysis.store.AnalysisStore`).

    Attributes
    ----------
    checkpoints : list[Checkpoint]
    dataset_name, dataset_hash : str
    input_shape : tuple[int, ...]
        One input as the network receives it: ``(C, H, W)`` or ``(D,)``.
    display : InputDisplay
        How inputs are shown (see :mod:`linlens_widgets.runs.display`); :meth:`probe_images`
        applies it.
    classes : tuple[str, ...]
    probe_inputs : Tensor (N, *input_shape) float32
    probe_labels : Tensor (N,) int64
    probe_indices : Tensor (N,) int64
        Indices into the dataset's test split; -1 for probe samples given as tensors.
    model_spec : dict or None
        The preset spec (see :func:`linlens_widgets.models.spec_of`); None for user modules.
    config : dict
        Training settings (epochs, lr, optimizer, ...): from :func:`train`, or the ``config``
        given to a :class:`Recorder`.
    path : Path or None
        The folder this run was loaded from or last saved to; the analysis store writes there.
    analysis_entries : dict of str to (arrays, meta)
        The analysis store's entries, read from and saved to the folder's ``analysis/``; use
        :class:`linlens_widgets.analysis.store.AnalysisStore` rather than this dict.
    device : str, torch.device or None
        Where the engine computes effective weights for this run (results come back on the CPU).

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
        input_shape: tuple[int, ...],
        display: InputDisplay,
        classes: tuple[str, ...],
        model_spec: dict[str, Any] | None,
        model_factory: Callable[[], nn.Module],
        model_class: str,
        config: dict[str, Any] | None = None,
        analysis_entries: dict[str, AnalysisEntry] | None = None,
        path: Path | None = None,
    ) -> None:
        if len(checkpoints) != len(states):
            raise ValueError(f"{len(checkpoints)} checkpoints but {len(states)} weight sets")
        self._checkpoints = list(checkpoints)
        self._states = list(states)
        self._probe = probe
        self.dataset_name = dataset_name
        self.dataset_hash = dataset_hash
        self.input_shape = tuple(int(s) for s in input_shape)
        check_display(self.input_shape, display)
        if tuple(probe.inputs.shape[1:]) != self.input_shape:
            raise ValueError(
                f"probe inputs have shape {tuple(probe.inputs.shape[1:])} per sample but the "
                f"run's input_shape is {self.input_shape}"
            )
        self.display = display
        self.classes = tuple(classes)
        self.model_spec = copy.deepcopy(model_spec)
        self._factory = model_factory
        self.model_class = model_class
        self.config = dict(config or {})
        self.analysis_entries: dict[str, AnalysisEntry] = dict(analysis_entries or {})
        self.path = None if path is None else Path(path)
        self.device: str | torch.device | None = None

    # ------------------------------------------------------------------ plain accessors

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints in training order (a copy of the list)."""
        return list(self._checkpoints)

    @property
    def probe_inputs(self) -> torch.Tensor:
        """Probe inputs as the network receives them, float32 (N, *input_shape), on the CPU."""
        return self._probe.inputs

    @property
    def image_shape(self) -> tuple[int, ...]:
        """How one input is drawn: ``(H, W)`` for grey, ``(C, H, W)`` for colour images.

        Raises ValueError for feature-vector runs (see :attr:`feature_names`).
        """
        return self.display.image_shape

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the input features of a feature-vector run; empty for image runs."""
        return self.display.feature_names

    def probe_images(self) -> np.ndarray:
        """Return the probe inputs as the user sees them: uint8 ``(N, H, W, C)``, un-normalised.

        ``C`` is 1 for grey and 3 for colour images; a ``"normalize"`` display is undone
        (see :func:`linlens_widgets.runs.display.to_uint8`).

        Raises
        ------
        ValueError
            For a run on feature vectors, which are not images (use :attr:`feature_names`).
        """
        return to_uint8(self._probe.inputs, self.display)

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
        return checkpoint_index(i, len(self._checkpoints))

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
        if self.analysis_entries:
            (folder / ANALYSIS_DIR).mkdir()
            for name, (arrays, meta) in self.analysis_entries.items():
                write_entry(folder / ANALYSIS_DIR / f"{name}.safetensors", arrays, meta)
        manifest = folder / _manifest.MANIFEST
        manifest.write_text(_manifest.dumps(self._manifest()), encoding="utf-8")

    def _manifest(self) -> dict[str, Any]:
        from linlens_widgets.version import __version__

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
                **_legacy_image_shape(self.display),
                "input_shape": list(self.input_shape),
                "display": self.display.to_json(),
                "classes": list(self.classes),
            },
            "probe": {
                "file": _manifest.PROBE_FILE,
                "n": len(self.probe_labels),
                "indices": self.probe_indices.tolist(),
            },
            "training": jsonable(self.config, "training config") if self.config else None,
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
    def from_checkpoints(
        cls,
        model: nn.Module,
        checkpoints: list[Any],
        data: Any,
        *,
        epochs: list[float] | None = None,
        probe: Any = None,
        metrics: list[dict[str, float]] | None = None,
        progress: bool = True,
    ) -> Run:
        """Make a run from weights your own training loop saved (plain PyTorch, Lightning, ...).

        Parameters
        ----------
        model : nn.Module
            The architecture (its own weights are not used; it is not modified).
        checkpoints : list
            In training order: state dicts, or paths to ``torch.save(model.state_dict(), p)``
            files (read with ``weights_only=True``) or to safetensors files.
        data : Dataset
            The data the model was trained on (see :class:`linlens_widgets.Dataset`).
        epochs : list of float, optional
            Epoch of each checkpoint; default their order, ``0, 1, 2, ...``.
        probe : optional
            The probe samples, as for :class:`linlens_widgets.Recorder`.
        metrics : list of dict, optional
            Metrics of each checkpoint; default computed as the Recorder does (train/test loss
            and accuracy).
        progress : bool, default True
            Show a progress bar.

        Returns
        -------
        Run

        Raises
        ------
        ValueError
            A checkpoint whose keys or shapes differ from the model's (naming the key), a file
            that is not a plain state dict (pickled objects are refused), mismatched lengths.
        FileNotFoundError
            A path with no file.

        >>> run = Run.from_checkpoints(model, ["ckpt/0.pt", "ckpt/1.pt"], data)  # doctest: +SKIP
        """
        return run_from_checkpoints(
            cls,
            model,
            checkpoints,
            data,
            epochs=epochs,
            probe=probe,
            metrics=metrics,
            progress=progress,
        )

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
        return load_run(cls, Path(path).expanduser().absolute(), model)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate the manifest of the run folder ``path`` without loading any tensor.

    Cheap: only ``manifest.json`` is read. Use it to recognise a run (e.g. a finished point of
    a sweep) before deciding to load it.

    Raises
    ------
    RunFormatError
        If the folder holds no manifest, or one that is not a valid linlens run manifest.
    """
    return _manifest.read(Path(path))


def _legacy_image_shape(display: InputDisplay) -> dict[str, list[int]]:
    """``image_shape: [H, W]`` for grey image runs, which versions without ``display`` read."""
    if display.is_image and display.channels == 1:
        return {"image_shape": list(display.shape[1:])}
    return {}


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write one safetensors file of a run (a seam where tests inject failures)."""
    _sfio.write_tensors(path, tensors, metadata)
