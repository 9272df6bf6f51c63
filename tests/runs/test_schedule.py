import itertools

import pytest

from linlens_widgets.runs.schedule import DEFAULT_LOG_CHECKPOINTS, log_steps, resolve_schedule


@pytest.mark.parametrize("total", [1, 5, 19, 20, 100, 440, 10_000, 1_000_000])
def test_log_steps_are_distinct_sorted_and_span_the_run(total: int) -> None:
    steps = log_steps(total)
    assert steps == sorted(set(steps))
    assert steps[0] == 0 and steps[-1] == total
    assert len(steps) == min(DEFAULT_LOG_CHECKPOINTS, total + 1)


def test_log_steps_are_dense_early_and_sparse_late() -> None:
    steps = log_steps(440)
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    assert steps[:5] == [0, 1, 2, 3, 4]
    assert gaps == sorted(gaps)  # non-decreasing gaps: log spacing
    assert gaps[-1] > 50


def test_named_and_counted_schedules() -> None:
    assert resolve_schedule("epoch", epochs=3, steps_per_epoch=7) == [0, 7, 14, 21]
    assert resolve_schedule("log", epochs=20, steps_per_epoch=22) == log_steps(440)
    assert resolve_schedule(6, epochs=2, steps_per_epoch=50) == log_steps(100, 6)
    assert len(resolve_schedule(6, epochs=2, steps_per_epoch=50)) == 6
    assert resolve_schedule("log", epochs=0, steps_per_epoch=5) == [0]


def test_epoch_lists_allow_fractions_and_collapse_duplicates() -> None:
    assert resolve_schedule([0, 0.25, 0.5, 1, 2], epochs=2, steps_per_epoch=8) == [0, 2, 4, 8, 16]
    assert resolve_schedule([2, 0, 0.01], epochs=2, steps_per_epoch=8) == [0, 16]
    assert resolve_schedule({"epochs": [0.5]}, epochs=1, steps_per_epoch=4) == [2]


def test_step_mapping() -> None:
    assert resolve_schedule({"steps": [5, 0, 1, 1]}, epochs=1, steps_per_epoch=10) == [0, 1, 5]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("weekly", "unknown checkpoint schedule 'weekly'"),
        ([], "empty"),
        ([0, 3], "outside the run"),
        ([-1], "negative"),
        ({"steps": [0, 11]}, "outside the run"),
        ({"steps": [1.5]}, "whole numbers"),
        ({"steps": [1], "epochs": [1]}, "exactly one key"),
        ([float("nan")], "finite"),
        (1, "at least 2"),
        (True, "checkpoints must be"),
        (2.5, "checkpoints must be"),
    ],
)
def test_bad_schedules_name_the_problem(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_schedule(spec, epochs=2, steps_per_epoch=5)  # type: ignore[arg-type]
