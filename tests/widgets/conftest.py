"""Small constructed runs and trajectories with the contract's shapes, for fast widget tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch


@dataclass
class FakeRun:
    """A RunSource (analysis.source): random per-sample W_eff of a 4x4 'image' task, 3 classes."""

    n: int = 24
    n_checkpoints: int = 5
    classes: tuple[str, ...] = ("zero", "one", "two")
    image_shape: tuple[int, int] = (4, 4)
    bias: bool = True
    dataset_name: str = "fake"
    store: Any = None  # no analysis store: what a widget would keep is computed again
    _weights: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        d = self.image_shape[0] * self.image_shape[1]
        c = len(self.classes)
        self.probe_inputs = torch.rand(self.n, d, generator=g)
        self.probe_labels = torch.arange(self.n) % c
        self.probe_indices = torch.arange(self.n)
        self.checkpoints = [
            SimpleNamespace(
                index=i,
                epoch=float(i),
                step=10 * i,
                metrics={"test_acc": 0.5 + 0.1 * i, "train_loss": 1.0 / (i + 1)},
                wall_time=0.0,
            )
            for i in range(self.n_checkpoints)
        ]
        self._weights = [
            torch.randn(self.n, c, *self.image_shape, generator=g) for _ in self.checkpoints
        ]
        self._biases = [torch.randn(self.n, c, generator=g) for _ in self.checkpoints]

    def effective_weights(self, i: int) -> Any:
        w = self._weights[i]
        x = self.probe_inputs
        b = self._biases[i] if self.bias else None
        out = torch.einsum("ncd,nd->nc", w.flatten(2), x) + (0 if b is None else b)
        return SimpleNamespace(weight=w, bias=b, output=out)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1, *self.image_shape)

    def weight_features(self, i: int) -> torch.Tensor:
        return self._weights[i].flatten(1)  # flattened W_eff keep every inner product

    def predictions(self, i: int) -> torch.Tensor:
        return self.effective_weights(i).output.argmax(1)


@dataclass
class FakeTrajectory:
    """Duck-typed Trajectory: positions in [-1, 1] drifting over checkpoints."""

    positions: np.ndarray
    epochs: np.ndarray
    steps: np.ndarray
    checkpoint_ids: np.ndarray
    labels: np.ndarray


def make_trajectory(run: FakeRun, n: int | None = None) -> FakeTrajectory:
    n = run.n if n is None else n
    e = len(run.checkpoints)
    rng = np.random.default_rng(0)
    start = rng.uniform(-0.9, 0.9, (n, 2))
    drift = rng.normal(0, 0.02, (e, n, 2)).cumsum(0)
    pos = np.clip(start[None] + drift, -1, 1).astype(np.float32)
    return FakeTrajectory(
        positions=pos,
        epochs=np.arange(e, dtype=float),
        steps=np.arange(e) * 10,
        checkpoint_ids=np.arange(e),
        labels=(np.arange(n) % len(run.classes)).astype(np.int64),
    )


@pytest.fixture
def run() -> FakeRun:
    return FakeRun()


@pytest.fixture
def traj(run: FakeRun) -> FakeTrajectory:
    return make_trajectory(run)


class Sent:
    """Collects what a widget sends as custom messages."""

    def __init__(self, widget: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.messages: list[tuple[dict[str, Any], list[Any]]] = []
        monkeypatch.setattr(widget, "send", self._send)

    def _send(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        self.messages.append((content, list(buffers or [])))
