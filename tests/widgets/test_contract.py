"""The Python side of the widget contract (``linlens_widgets/widgets/contract.json``).

The JS side is checked against the same file by ``js/test/contract.test.js``.
"""

from __future__ import annotations

import anywidget
import pytest
import traitlets

from linlens_widgets.widgets import contract
from linlens_widgets.widgets.compare import WeightCompare
from linlens_widgets.widgets.embedding import EmbeddingView
from linlens_widgets.widgets.explorer import ExplorerLayout
from linlens_widgets.widgets.scrubber import CheckpointScrubber
from linlens_widgets.widgets.sweep_explorer import SweepLayout
from tests.widgets.conftest import Sent

CLASSES = {
    "EmbeddingView": EmbeddingView,
    "WeightCompare": WeightCompare,
    "CheckpointScrubber": CheckpointScrubber,
    "ExplorerLayout": ExplorerLayout,
    "SweepLayout": SweepLayout,
}
BASE = set(anywidget.AnyWidget.class_traits(sync=True))


def _type(trait: traitlets.TraitType) -> str:
    """The contract's name for a trait's type."""
    if isinstance(trait, traitlets.List):
        inner = trait._trait
        names = {traitlets.Int: "int", traitlets.Unicode: "str", traitlets.Dict: "dict"}
        names[traitlets.Float] = "float"
        nested = isinstance(inner, traitlets.List) or type(inner) is traitlets.Instance
        return f"list[{_type(inner) if nested else names[type(inner)]}]"
    if isinstance(trait, traitlets.Instance) and not isinstance(trait, traitlets.Dict):
        return "widget"
    if trait.metadata.get("to_json") is not None and isinstance(trait, traitlets.Any):
        return "array"
    if isinstance(trait, traitlets.Enum):
        return "str"
    plain = {traitlets.Int: "int", traitlets.Float: "float", traitlets.Bool: "bool"}
    plain[traitlets.Unicode] = "str"
    plain[traitlets.Dict] = "dict"
    return plain[type(trait)]


def test_every_widget_is_in_the_contract():
    assert set(contract.CONTRACT["widgets"]) == set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_synced_traits_match_the_contract(name):
    cls = CLASSES[name]
    spec = contract.CONTRACT["widgets"][name]["traits"]
    own = {k: t for k, t in cls.class_traits(sync=True).items() if k not in BASE}
    assert set(own) == set(spec), f"{name}: traits and contract differ"
    for key, trait in own.items():
        assert _type(trait) == spec[key]["type"].split("|")[0], f"{name}.{key}"
        if isinstance(trait, traitlets.Enum):  # allowed values are declared once, in the contract
            assert list(trait.values) == spec[key]["values"], f"{name}.{key}"
        assert spec[key]["direction"] in ("both", "py->js")
        # the front end never sets what only Python owns
        assert not (key.startswith("_") and spec[key]["direction"] == "both"), key


def test_no_trait_is_called_epoch():
    for name, spec in contract.CONTRACT["widgets"].items():
        assert "epoch" not in spec["traits"], name
    for kind, spec in contract.MESSAGES.items():
        assert "epoch" not in spec["fields"], kind


PARTS = {
    "scrubber": "CheckpointScrubber",
    "embedding": "EmbeddingView",
    "embeddings[i]": "EmbeddingView",
    "embeddings[j]": "EmbeddingView",
    "compare": "WeightCompare",
}


def _link_sections() -> list[tuple[str, str, dict]]:
    """Every link section of the contract: the explorer's and each layout widget's own."""
    sections = [("ExplorerLayout", k, v) for k, v in contract.CONTRACT["links"].items()]
    for owner, spec in contract.CONTRACT["widgets"].items():
        sections += [(owner, k, v) for k, v in spec.get("links", {}).items()]
    return [(owner, k, v) for owner, k, v in sections if k != "about"]


def test_links_name_existing_traits():
    widgets = contract.CONTRACT["widgets"]
    sections = _link_sections()
    assert {owner for owner, _, _ in sections} == {"ExplorerLayout", "SweepLayout"}
    for owner, key, link in sections:
        for part, trait, *through in [link["from"], *link["to"]]:
            assert trait in widgets[PARTS[part]]["traits"], (owner, key, part, trait)
            for index in through:  # e.g. "_mapping[i][checkpoint]": a trait of the layout
                assert index.split("[")[0] in widgets[owner]["traits"], (owner, key, index)
        for source, value, target, mark in link.get("marks", []):
            assert mark in widgets[PARTS[target]]["traits"], (owner, key, target, mark)
            known = widgets[PARTS[source]]["traits"].keys() | contract.MESSAGES.keys()
            assert value in known, (owner, key, source, value)


def test_a_stale_link_is_found(monkeypatch):
    sweep = contract.CONTRACT["widgets"]["SweepLayout"]["links"]["selection"]
    monkeypatch.setitem(sweep, "to", [["compare", "sample_a"]])
    with pytest.raises(AssertionError, match="sample_a"):
        test_links_name_existing_traits()


def test_messages_python_sends_follow_the_contract(run, monkeypatch):
    cmp = WeightCompare(run, 0, 1)
    sent = Sent(cmp, monkeypatch)
    cmp._on_message(cmp, {"type": "fetch", "sample": 2, "checkpoint": 1}, [])
    cmp._on_message(cmp, {"type": "fetch_class_means", "checkpoint": 9}, [])  # fails: error
    cmp._on_message(cmp, {"type": "fetch", "sample": 99, "checkpoint": 0}, [])
    kinds = [content["type"] for content, _ in sent.messages]
    assert kinds == ["sample", "error", "error"]
    for content, _ in sent.messages:
        fields = set(contract.MESSAGES[content["type"]]["fields"])
        assert set(content) - {"type"} <= fields, content
    sample = sent.messages[0][0]
    shapes = {a["name"]: a["shape"] for a in sample["arrays"]}
    assert set(shapes) == set(contract.MESSAGES["sample"]["arrays"])
    assert shapes["weight"] == [3, 16] and sample["checkpoint"] == 1


def test_message_refuses_fields_outside_the_contract():
    assert contract.message("fetch", sample=1, checkpoint=2)["type"] == "fetch"
    with pytest.raises(ValueError, match="no field"):
        contract.message("fetch", sample=1, epoch=2)
    with pytest.raises(ValueError, match="unknown message type"):
        contract.message("nope")


def test_the_scrubber_takes_exactly_the_contract_speeds(run):
    speeds = [float(v) for v in contract.CONTRACT["speeds"]]
    assert speeds == sorted(set(speeds)) and 1.0 in speeds  # ascending, and 1 is the default
    scrubber = CheckpointScrubber(run)
    for v in speeds:
        scrubber.speed = v
        assert scrubber.speed == v
    between = (speeds[0] + speeds[1]) / 2
    for bad in (between, speeds[-1] * 2, 0.0):
        with pytest.raises(ValueError, match="speed must be one of"):
            scrubber.speed = bad
    assert scrubber.speed == speeds[-1]
