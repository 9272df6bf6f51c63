import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import linlens_widgets as ll
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import RunWeights, run_weights
from linlens_widgets.runs import atomic_write, store
from linlens_widgets.runs.store import RunFormatError


@pytest.fixture(scope="module")
def data() -> ll.Dataset:
    return ll.datasets.digits()


@pytest.fixture(scope="module")
def run(data: ll.Dataset) -> ll.Run:
    model = ll.models.mlp(64, [32, 16], 10, bias=True, seed=0)
    return ll.train(model, data, epochs=1, checkpoints=4, probe=60, progress=False)


@pytest.fixture(scope="module")
def saved(run: ll.Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine saved copy of ``run``; tests that damage a folder copy it first."""
    path = tmp_path_factory.mktemp("pristine") / "run"
    run.save(path)
    return path


@pytest.fixture
def folder(saved: Path, tmp_path: Path) -> Path:
    path = tmp_path / "run"
    shutil.copytree(saved, path)
    return path


def assert_same_run(a: ll.Run, b: ll.Run) -> None:
    assert len(a) == len(b)
    x = a.probe_inputs
    for i in range(len(a)):
        ca, cb = a.checkpoints[i], b.checkpoints[i]
        assert (ca.index, ca.epoch, ca.step, ca.metrics) == (
            cb.index,
            cb.epoch,
            cb.step,
            cb.metrics,
        )
        assert ca.wall_time == pytest.approx(cb.wall_time)
        sa, sb = a.state_dict_at(i), b.state_dict_at(i)
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
        with torch.no_grad():
            assert torch.equal(a.model_at(i)(x), b.model_at(i)(x))
    for name in ("probe_inputs", "probe_labels", "probe_indices"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    for name in ("dataset_name", "dataset_hash", "input_shape", "display", "classes", "model_spec"):
        assert getattr(a, name) == getattr(b, name)
    assert a.config == b.config


# ----------------------------------------------------------------------------- round trips


def test_save_load_gives_identical_outputs_at_every_checkpoint(run: ll.Run, folder: Path) -> None:
    loaded = ll.Run.load(folder)
    assert_same_run(run, loaded)
    assert loaded.path == folder.absolute()
    assert not loaded.model_at(0).training


def test_folder_layout_and_manifest(run: ll.Run, data: ll.Dataset, folder: Path) -> None:
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == [
        "checkpoints/0000.safetensors",
        "checkpoints/0001.safetensors",
        "checkpoints/0002.safetensors",
        "checkpoints/0003.safetensors",
        "manifest.json",
        "probe.safetensors",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["model"]["spec"] == ll.models.spec_of(
        ll.models.mlp(64, [32, 16], 10, bias=True)
    )
    assert manifest["dataset"] == {
        "name": "digits",
        "content_hash": data.content_hash(),
        "image_shape": [8, 8],
        "input_shape": [64],
        "display": {"kind": "unit", "shape": [1, 8, 8]},
        "classes": list(data.classes),
    }
    assert manifest["probe"]["indices"] == run.probe_indices.tolist()
    assert [c["step"] for c in manifest["checkpoints"]] == [c.step for c in run.checkpoints]
    assert (
        manifest["checkpoints"][-1]["metrics"]["test_acc"]
        == run.checkpoints[-1].metrics["test_acc"]
    )
    assert set(load_file(folder / "checkpoints/0002.safetensors")) == {
        "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"
    }  # fmt: skip


@pytest.mark.parametrize(
    "build",
    [
        lambda: ll.models.cnn((8, 8), 10, channels=(4, 8), seed=0),
        lambda: ll.models.residual_mlp(64, 16, 2, 10, seed=0),
    ],
)
def test_other_presets_round_trip(build, data: ll.Dataset, tmp_path: Path) -> None:
    run = ll.train(build(), data, epochs=1, checkpoints=3, probe=20, progress=False)
    run.save(tmp_path / "r")
    assert_same_run(run, ll.Run.load(tmp_path / "r"))


def test_user_modules_need_a_factory(data: ll.Dataset, tmp_path: Path) -> None:
    def factory() -> nn.Module:
        return nn.Sequential(nn.Linear(64, 12), nn.LeakyReLU(0.1), nn.Linear(12, 10))

    run = ll.train(factory(), data, epochs=1, checkpoints=3, probe=30, progress=False)
    assert run.model_spec is None
    run.save(tmp_path / "r")
    with pytest.raises(RunFormatError, match=r"user module \(torch.nn.*Sequential\).*pass model="):
        ll.Run.load(tmp_path / "r")
    assert_same_run(run, ll.Run.load(tmp_path / "r", model=factory))
    assert_same_run(run, ll.Run.load(tmp_path / "r", model=factory()))
    with pytest.raises(
        RunFormatError,
        match=r"model= builds.*'0.weight' has shape \(12, 64\) but the model expects \(13, 64\)",
    ):
        ll.Run.load(
            tmp_path / "r",
            model=lambda: nn.Sequential(nn.Linear(64, 13), nn.ReLU(), nn.Linear(13, 10)),
        )


# ----------------------------------------------------------------------------- the lens


def test_effective_weights_predictions_and_features_through_the_engine(run: ll.Run) -> None:
    n, d = run.probe_inputs.shape
    weights = run_weights(run)
    assert run_weights(run) is weights  # one per run: every caller shares its cache
    for i in (0, len(run) - 1):
        ew = weights.effective_weights(i)
        assert ew.weight.shape == (n, 10, d)
        with torch.no_grad():
            out = run.model_at(i)(run.probe_inputs)
        assert torch.allclose(ew.output, out, atol=1e-5)
        assert torch.equal(weights.predictions(i), out.argmax(dim=1))
        assert weights.effective_weights(i) is ew  # cached
        features = weights.weight_features(i)
        assert features.shape[0] == n
        gram = ew.flat() @ ew.flat().T
        assert torch.allclose(features @ features.T, gram, atol=1e-3 * float(gram.abs().max()))
    assert weights.effective_weights(-1, patterns=True).patterns is not None


def test_cache_is_bounded(run: ll.Run) -> None:
    weights = RunWeights(run, cache_bytes=1)
    first = weights.effective_weights(0)
    weights.effective_weights(1)
    assert weights.effective_weights(0) is not first  # evicted, recomputed
    assert torch.equal(weights.effective_weights(0).weight, first.weight)


def test_checkpoint_indices_are_checked(run: ll.Run) -> None:
    assert torch.equal(run.state_dict_at(-1)["0.weight"], run.state_dict_at(3)["0.weight"])
    with pytest.raises(IndexError, match="out of range: the run has 4 checkpoints"):
        run.model_at(4)
    with pytest.raises(IndexError, match="not an epoch"):
        run.model_at(1.0)
    with pytest.raises(IndexError, match="out of range"):
        run_weights(run).effective_weights(-5)


# ----------------------------------------------------------------------------- analysis store


def test_analysis_store_round_trips_and_persists(run: ll.Run, folder: Path) -> None:
    loaded = ll.Run.load(folder)
    store_ = AnalysisStore(loaded)
    assert store_.get("trajectory") is None and "trajectory" not in store_
    positions = np.random.rand(4, 60, 2).astype(np.float32)
    arrays = {"positions": positions, "ids": np.arange(4), "score": np.float64(0.5)}
    assert store_.put("trajectory", arrays, {"method": "tsne"}) is True
    assert (folder / "analysis" / "trajectory.safetensors").is_file()  # written at once
    arrays, meta = AnalysisStore(ll.Run.load(folder)).get("trajectory")
    assert np.array_equal(arrays["positions"], positions) and arrays["ids"].dtype == np.int64
    assert arrays["score"].shape == () and arrays["score"] == 0.5
    assert meta == {"method": "tsne"}
    store_.put("trajectory", {"positions": positions[:1]}, {"method": "pca"})
    assert AnalysisStore(ll.Run.load(folder)).get("trajectory")[1] == {"method": "pca"}
    assert sorted(p.name for p in (folder / "analysis").iterdir()) == ["trajectory.safetensors"]
    assert store_.names == ["trajectory"]


def test_analysis_store_kept_in_memory_then_saved(run: ll.Run, tmp_path: Path) -> None:
    fresh = ll.Run.load(run.path) if run.path else run
    fresh.path = None  # a run without a folder
    assert AnalysisStore(fresh).put("note", {"x": np.arange(2)}, {"n": 2}) is False
    fresh.save(tmp_path / "r")
    assert AnalysisStore(ll.Run.load(tmp_path / "r")).get("note")[1] == {"n": 2}


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="needs POSIX permissions that bind (root ignores them)",
)
def test_analysis_store_writes_nothing_into_a_read_only_folder(folder: Path) -> None:
    loaded = ll.Run.load(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    folder.chmod(0o555)
    try:
        written = AnalysisStore(loaded).put("note", {"x": np.arange(3)}, {"n": 3})
    finally:
        folder.chmod(0o755)
    assert written is False
    assert AnalysisStore(loaded).get("note")[1] == {"n": 3}  # still there, in memory
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_analysis_store_skips_a_folder_it_may_not_write(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where permissions do not bind (root), the store's own permission check is what holds."""
    from linlens_widgets.analysis import store as analysis_store

    loaded = ll.Run.load(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    monkeypatch.setattr(analysis_store.os, "access", lambda path, mode: False)
    assert AnalysisStore(loaded).put("note", {"x": np.arange(3)}, {"n": 3}) is False
    assert AnalysisStore(loaded).get("note")[1] == {"n": 3}
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_analysis_store_validates(run: ll.Run) -> None:
    with pytest.raises(ValueError, match="must match"):
        AnalysisStore(run).put("../escape", {}, {})
    with pytest.raises(ValueError, match="must be numeric"):
        AnalysisStore(run).put("x", {"a": np.array([object()])}, {})
    with pytest.raises(ValueError, match="JSON"):
        AnalysisStore(run).put("x", {}, {"bad": float("nan")})


def test_bad_analysis_files_are_named(folder: Path) -> None:
    (folder / "analysis").mkdir()
    (folder / "analysis" / "junk.safetensors").write_text("not a tensor file")
    with pytest.warns(UserWarning, match=r"analysis/junk\.safetensors is not a safetensors"):
        run = ll.Run.load(folder)  # derived data: skipped and recomputed, the run still loads
    assert "junk" not in run.analysis_entries


# ----------------------------------------------------------------------------- atomic saves


def test_overwrite_rules(run: ll.Run, tmp_path: Path) -> None:
    target = tmp_path / "r"
    run.save(target)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        run.save(target)
    run.save(target, overwrite=True)
    ll.Run.load(target)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not a run folder"):
        run.save(other, overwrite=True)
    assert (other / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "r"]


def failing_writer(monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    real = store._write_tensors
    calls = []

    def writer(*args, **kwargs):
        if len(calls) == after:
            raise OSError(28, "No space left on device")
        calls.append(args[0])
        real(*args, **kwargs)

    monkeypatch.setattr(store, "_write_tensors", writer)


def test_failed_overwrite_keeps_the_old_run(
    run: ll.Run, data: ll.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r"
    run.save(target)
    newer = ll.train(ll.models.mlp(64, [32, 16], 10, bias=True), data, epochs=1, progress=False)
    failing_writer(monkeypatch, after=3)
    with pytest.raises(OSError, match="No space left"):
        newer.save(target, overwrite=True)
    assert_same_run(run, ll.Run.load(target))
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary siblings left
    monkeypatch.undo()
    newer.save(target, overwrite=True)
    assert len(ll.Run.load(target)) == 20


def test_failed_first_save_leaves_nothing(
    run: ll.Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing_writer(monkeypatch, after=1)
    with pytest.raises(OSError):
        run.save(tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_failed_swap_restores_the_old_run(
    run: ll.Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r"
    run.save(target)
    real_rename = os.rename
    renames = []

    def rename(src, dst):
        renames.append((src, dst))
        if len(renames) == 2:  # old run moved aside; moving the new one in fails
            raise OSError("simulated crash during rename")
        real_rename(src, dst)

    monkeypatch.setattr(atomic_write.os, "rename", rename)
    with pytest.raises(OSError, match="simulated"):
        run.save(target, overwrite=True)
    monkeypatch.undo()
    assert_same_run(run, ll.Run.load(target))
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


# ----------------------------------------------------------------------------- bad folders


def test_missing_folder_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ll.Run.load(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFormatError, match=r"manifest\.json is missing"):
        ll.Run.load(tmp_path / "empty")
    assert issubclass(RunFormatError, ValueError) and ll.RunFormatError is RunFormatError


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t[: len(t) // 2], r"manifest\.json is not valid JSON"),
        (lambda t: "<html>oops</html>", r"manifest\.json is not valid JSON"),
        (
            lambda t: t.replace('"schema_version": 1', '"schema_version": 7'),
            r"schema_version 7 is newer",
        ),
        (
            lambda t: t.replace('"schema_version": 1', '"schema_version": "v1"'),
            r"unknown schema_version 'v1'",
        ),
        (lambda t: t.replace('"format": "linlens-run"', '"format": "x"'), r"not a linlens run"),
        (lambda t: t.replace('"step": 1,', '"step": "one",', 1), r"checkpoints\[1\]\.step"),
        (
            lambda t: t.replace('"test_acc": ', '"test_acc": NaN, "x": ', 1),
            r"manifest\.json is not valid",
        ),
    ],
)
def test_bad_manifests_are_named(folder: Path, damage, message: str) -> None:
    manifest = folder / "manifest.json"
    text = manifest.read_text()
    damaged = damage(text)
    assert damaged != text
    manifest.write_text(damaged)
    with pytest.raises(RunFormatError, match=message):
        ll.Run.load(folder)


def test_missing_and_foreign_checkpoint_files_are_named(folder: Path) -> None:
    ckpt = folder / "checkpoints" / "0002.safetensors"
    original = ckpt.read_bytes()
    ckpt.unlink()
    with pytest.raises(RunFormatError, match=r"checkpoints/0002.safetensors is missing"):
        ll.Run.load(folder)
    for junk in (b"", b"hello world, not tensors", original[: len(original) // 2], b"\x00" * 64):
        ckpt.write_bytes(junk)
        with pytest.raises(RunFormatError, match=r"checkpoints/0002.safetensors"):
            ll.Run.load(folder)
    (folder / "probe.safetensors").unlink()
    ckpt.write_bytes(original)
    with pytest.raises(RunFormatError, match=r"probe\.safetensors is missing"):
        ll.Run.load(folder)


class _Bomb:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_in_place_of_a_checkpoint_never_runs(folder: Path, tmp_path: Path) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Bomb(proof)))
    assert proof.exists()  # the payload is live: unpickling it runs a command

    marker = tmp_path / "exploded"
    ckpt = folder / "checkpoints" / "0001.safetensors"
    for write in (
        lambda: ckpt.write_bytes(pickle.dumps({"0.weight": _Bomb(marker)})),
        lambda: torch.save({"0.weight": _Bomb(marker)}, ckpt),  # torch's zip+pickle format
    ):
        write()
        with pytest.raises(RunFormatError, match=r"checkpoints/0001.safetensors is not a"):
            ll.Run.load(folder)
        assert not marker.exists()


def test_tensors_that_do_not_fit_the_model_are_named(folder: Path) -> None:
    ckpt = folder / "checkpoints" / "0003.safetensors"
    tensors = load_file(ckpt)
    good = dict(tensors)
    tensors["2.weight"] = torch.zeros(16, 31)
    save_file(tensors, ckpt)
    with pytest.raises(
        RunFormatError,
        match=r"checkpoints/0003.safetensors: tensor '2.weight' has shape \(16, 31\) "
        r"but the model expects \(16, 32\)",
    ):
        ll.Run.load(folder)
    del good["4.bias"]
    save_file(good, ckpt)
    with pytest.raises(RunFormatError, match=r"0003.safetensors lacks tensor\(s\) \['4.bias'\]"):
        ll.Run.load(folder)


def test_probe_tensors_are_validated(folder: Path) -> None:
    probe = load_file(folder / "probe.safetensors")
    probe["inputs"] = probe["inputs"][:, :10].contiguous()
    save_file(probe, folder / "probe.safetensors")
    with pytest.raises(RunFormatError, match=r"probe.safetensors: tensor 'inputs'.*\(60, 64\)"):
        ll.Run.load(folder)


def test_temporary_leftovers_of_a_killed_save_are_ignored(run: ll.Run, folder: Path) -> None:
    leftover = folder.parent / f".{folder.name}.tmp-deadbeef0000"
    leftover.mkdir()
    (leftover / "manifest.json").write_text("{")
    assert_same_run(run, ll.Run.load(folder))


@pytest.mark.slow
def test_a_save_killed_midway_leaves_the_old_run(run: ll.Run, tmp_path: Path) -> None:
    target = tmp_path / "r"
    run.save(target)
    script = f"""
import time
import linlens_widgets as ll
from linlens_widgets.runs import store
run = ll.Run.load({str(target)!r})
real = store._write_tensors
def stall(*args, **kwargs):
    real(*args, **kwargs)
    print("wrote a file", flush=True)
    time.sleep(120)
store._write_tensors = stall
run.save({str(target)!r}, overwrite=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "wrote a file"
    finally:
        proc.kill()
        proc.wait()
    assert_same_run(run, ll.Run.load(target))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "r"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".r.tmp-")  # hidden, ignored
