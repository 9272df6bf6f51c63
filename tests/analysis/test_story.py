"""The story's sentences follow the numbers: two constructed runs, two different stories."""

from __future__ import annotations

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.analysis.story import tell
from linlens_widgets.analysis.weights import run_weights


def _clusters(centres: np.ndarray, per_class: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(centres)), per_class)
    return centres[labels] + noise * rng.normal(size=(len(labels), centres.shape[1]))


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four classes in 20-D: '0' and '1' far apart, '2' and '3' nearly on top of each other."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3.0, (4, 20))
    centres[3] = centres[2] + 0.3 * rng.normal(size=20)  # '2' and '3' intertwined
    inputs = _clusters(centres, 40, 1.0, seed=1)
    labels = np.repeat(np.arange(4), 40)
    rotation, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    return inputs, labels, rotation


def test_a_network_that_mirrors_its_input_and_then_untangles_is_told_so(scene) -> None:
    inputs, labels, rotation = scene
    initial = inputs @ rotation  # a rotation keeps every centred cosine: the input mirrored
    centres = np.random.default_rng(5).normal(0, 3.0, (4, 20))
    trained = _clusters(centres, 40, 0.3, seed=2)  # every class apart, '2' and '3' included
    told = tell(inputs, initial, trained, labels, classes=["0", "1", "2", "3"], k=10)

    assert told.initial.overall == pytest.approx(told.input.overall)
    assert {"0", "1"} <= set(told.apart_at_init)
    assert ("2", "3") in {(a, b) for a, b, _ in told.intertwined_at_init}
    assert ("2", "3") in {(a, b) for a, b, *_ in told.untangled}
    assert told.trained.overall > told.initial.overall + 0.1
    text = " ".join(told.sentences)
    assert "about as many as in the inputs" in text and "mirrors its input" in text
    assert "masks D(x) are chosen by x" in text
    assert "Untangled by training: '2'–'3'" in text
    assert "up from" in text and "pulled the classes further apart" in text
    assert "same-class W_eff converge" in text
    assert f"{100 * told.input.overall:.0f} %" in told.sentences[0]


def test_a_network_that_scrambles_its_input_and_learns_nothing_is_told_so(scene) -> None:
    inputs, labels, _ = scene
    noise = np.random.default_rng(7).normal(size=(len(labels), 30))  # no class structure at all
    told = tell(inputs, noise, noise, labels, classes=["0", "1", "2", "3"], k=10)

    assert told.initial.overall < told.input.overall - 0.3
    assert told.apart_at_init == ()
    text = " ".join(told.sentences)
    assert "fewer than in the inputs" in text and "mirrors" not in text
    assert "No class is apart at initialisation" in text
    assert "about as many as at initialisation" in text and "below the inputs' share" in text
    assert "Untangled by training" not in text
    assert "same-class W_eff stay about as alike" in text


def test_the_two_situations_tell_different_sentences(scene) -> None:
    inputs, labels, rotation = scene
    noise = np.random.default_rng(7).normal(size=(len(labels), 30))
    mirrored = tell(inputs, inputs @ rotation, inputs @ rotation, labels)
    scrambled = tell(inputs, noise, noise, labels)
    assert mirrored.sentences[0] == scrambled.sentences[0]  # the same inputs
    assert mirrored.sentences[1:] != scrambled.sentences[1:]
    assert mirrored.sentences[1] != scrambled.sentences[1]


def test_the_story_of_a_run_states_its_measured_numbers(digits_run) -> None:
    run = digits_run
    told = ll.metrics.story(run)
    init = ll.metrics.knn_agreement(run_weights(run).effective_weights(0), run.probe_labels)
    last = ll.metrics.knn_agreement(run_weights(run).effective_weights(-1), run.probe_labels)
    inputs = ll.metrics.knn_agreement(run.probe_inputs, run.probe_labels)
    assert told.initial.overall == pytest.approx(init.overall)
    assert told.trained.overall == pytest.approx(last.overall)
    assert told.input.overall == pytest.approx(inputs.overall)
    assert told.epochs == (run.checkpoints[0].epoch, run.checkpoints[-1].epoch)
    assert f"{100 * init.overall:.0f} %" in told.sentences[1]
    assert f"{100 * last.overall:.0f} %" in told.sentences[3]
    markdown = told.markdown()
    assert told._repr_markdown_() == markdown
    assert markdown.count("\n| ") == 4  # header and three rows: inputs, initialisation, trained
    assert all(f"'{c}'" in markdown for c in run.classes)
