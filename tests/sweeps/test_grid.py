"""Grid points, their names and the model/training split, without a cluster."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets import cli
from linlens_widgets.sweeps import grid as sg


def test_points_are_the_product_in_grid_order_with_readable_unique_names() -> None:
    points = sg.expand_grid({"init_scale": [1e-3, 1.0], "hidden": [[64, 64], [128]], "seed": [0]})
    assert [p.name for p in points] == [
        "init_scale=0.001__hidden=64x64__seed=0",
        "init_scale=0.001__hidden=128__seed=0",
        "init_scale=1.0__hidden=64x64__seed=0",
        "init_scale=1.0__hidden=128__seed=0",
    ]
    assert points[1].params == {"init_scale": 1e-3, "hidden": [128], "seed": 0}


def test_names_are_filesystem_safe_and_stay_unique_when_values_differ_only_in_symbols() -> None:
    points = sg.expand_grid({"tag": ["a/b", "a b", "../x"], "flag": [True, None]})
    names = [p.name for p in points]
    assert len(set(names)) == len(names)
    for name in names:
        assert "/" not in name and " " not in name and not name.startswith(".")
    long = sg.point_name({"x": "y" * 300})
    assert len(long) <= sg.MAX_NAME_LENGTH


def test_numpy_values_become_plain_json() -> None:
    [point] = sg.expand_grid({"lr": np.array([0.5])})
    assert point.params == {"lr": 0.5} and type(point.params["lr"]) is float


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({}, "non-empty"),
        ({"lr": []}, "is empty"),
        ({"lr": 0.1}, "must be a list"),
        ({"lr": [0.1, 0.1]}, "repeats a value"),
        ({"not a name": [1]}, "Python identifier"),
        ({"lr": [float("nan")]}, "non-finite"),
        ({"lr": [object()]}, "grid values must be numbers"),
    ],
)
def test_bad_grids_are_refused_naming_the_problem(grid: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sg.expand_grid(grid)


def test_train_names_go_to_training_and_seed_to_both() -> None:
    def make(width: int, seed: int = 0) -> None: ...

    def make_unseeded(width: int) -> None: ...

    params = {"width": 8, "lr": 0.1, "epochs": 3, "seed": 2}
    assert sg.split_params(params, make) == (
        {"width": 8, "seed": 2},
        {"lr": 0.1, "epochs": 3, "seed": 2},
    )
    assert sg.split_params(params, make_unseeded)[0] == {"width": 8}
    with pytest.raises(TypeError, match="width2"):
        sg.check_model_params(make, {"width2": 1})


def test_grid_option_parsing() -> None:
    assert sg.parse_grid_option("init_scale=0.001,1") == ("init_scale", [0.001, 1])
    assert sg.parse_grid_option("hidden=64x64,128") == ("hidden", [[64, 64], [128]])
    assert sg.parse_grid_option("bias=true,false") == ("bias", [True, False])
    with pytest.raises(ValueError, match="name=value1"):
        sg.parse_grid_option("seed")


@pytest.mark.slow
def test_sweep_refuses_bad_input_before_starting_anything(tmp_path) -> None:
    data = ll.datasets.digits()
    make = functools.partial(ll.models.mlp, 64, [8], 10)
    lock = threading.Lock()

    def unpicklable(seed: int = 0):
        return lock

    with pytest.raises(TypeError, match="cannot be pickled"):
        ll.sweep(unpicklable, data, {"seed": [0]}, out=tmp_path)
    with pytest.raises(TypeError, match="linlens Dataset"):
        ll.sweep(make, "digits", {"seed": [0]}, out=tmp_path)
    with pytest.raises(TypeError, match="make_model cannot be called"):
        ll.sweep(make, data, {"width": [8]}, out=tmp_path)
    with pytest.raises(ValueError, match="not arguments of train"):
        ll.sweep(make, data, {"seed": [0]}, out=tmp_path, train_kwargs={"epoch": 2})
    with pytest.raises(ValueError, match="both the grid and train_kwargs"):
        ll.sweep(make, data, {"lr": [0.1]}, out=tmp_path, train_kwargs={"lr": 0.2})
    with pytest.raises(ValueError, match="unknown analyses"):
        ll.sweep(make, data, {"seed": [0]}, out=tmp_path, analyses=("tsne",))
    assert not (tmp_path / "sweep.json").exists()


def test_sweep_refuses_a_folder_that_holds_something_else(tmp_path) -> None:
    (tmp_path / "seed=0").mkdir()
    (tmp_path / "seed=0" / "notes.txt").write_text("mine")
    make = functools.partial(ll.models.mlp, 64, [8], 10)
    with pytest.raises(ValueError, match="holds something else"):
        ll.sweep(make, ll.datasets.digits(), {"seed": [0]}, out=tmp_path)
    assert (tmp_path / "seed=0" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "width=8"], "unknown grid names ['width']"),
        (["--grid", "seed"], "--grid expects name=value1"),
        (["--grid", "lr=0.1,0.1"], "repeats a value"),
    ],
)
def test_cli_sweep_errors(tmp_path, capsys, argv: list[str], message: str) -> None:
    assert cli.main(["sweep", *argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("linlens: error: ") and message in err


@pytest.mark.parametrize("name", ["linlens_widgets.sweeps.grid", "linlens_widgets.sweeps.execute"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
