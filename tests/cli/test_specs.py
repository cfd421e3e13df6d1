"""Model specs on the command line: options bind to the model they follow (costmodel.specs)."""

from __future__ import annotations

import re

import pytest

from cli import parse_list, parse_specs
from costmodel import SpecError
from costmodel.specs import ModelSpec, load_network, load_profiles


def test_options_bind_to_the_model_they_follow() -> None:
    specs = parse_specs(["densenet201", "cspdensenet201", "--gamma", "0.5", "--fusion", "csp"])
    assert specs == [ModelSpec("densenet201"), ModelSpec("cspdensenet201", gamma=0.5, fusion="csp")]


def test_short_options_inline_values_and_compact_form_agree() -> None:
    long = parse_specs(
        ["peleenet", "--gamma", "0.25", "--fusion", "fusion_last", "--growth-rate", "16", "--input", "256"]
    )
    short = parse_specs(["peleenet", "-g", "0.25", "-f", "fusion_last", "-k", "16", "-i", "256"])
    inline = parse_specs(["peleenet", "--gamma=0.25", "--fusion=fusion_last", "-k=16", "-i=256"])
    compact = parse_specs(["peleenet:gamma=0.25,fusion=fusion_last,growth_rate=16,input=256"])
    expected = [ModelSpec("peleenet", 0.25, "fusion_last", 16, 256)]
    assert long == short == inline == compact == expected


def test_options_before_the_first_model_apply_to_every_model() -> None:
    specs = parse_specs(["--input", "256", "densenet121", "peleenet", "-i", "320"])
    assert [s.input_size for s in specs] == [256, 320]


def test_labels_say_what_was_changed_and_stay_distinct() -> None:
    specs = parse_specs(["densenet121", "densenet121", "densenet121", "-g", "0.5", "-k", "12"])
    assert specs[2].label == "densenet121 γ=0.5 k=12"
    names = [p.name for p in load_profiles(specs)]
    assert names == ["densenet121", "densenet121 #2", "densenet121 γ=0.5 k=12"]


def test_a_spec_expands_with_its_knobs() -> None:
    # γ = 0.5 on DenseNet-121's 64-channel stem output: p1 = ⌊0.5·64 + ½⌋ = 32 bypass, 32 enter.
    net = load_network(ModelSpec("densenet121", gamma=0.5, input_size=256))
    assert net.input_shape == (3, 256, 256)
    first = next(layer for layer in net.layers if layer.name.endswith("denselayer1.conv1"))
    assert first.in_shapes[0].c == 64 - 32


@pytest.mark.parametrize(
    ("words", "fragment"),
    [
        (["densenet121", "--gamma", "1.0"], "outside [0, 1)"),
        (["densenet121", "--gamma", "-0.1"], "outside [0, 1)"),
        (["densenet121", "-g", "half"], "not a number"),
        (["densenet121", "--fusion", "late"], "not one of"),
        (["densenet121", "--growth-rate", "0"], "positive"),
        (["densenet121", "--depth", "3"], "unknown option '--depth'"),
        (["densenet121", "--gamma"], "needs a value"),
        (["densenet121:gamma"], "cannot read"),
        (["densenet121:height=2"], "cannot read"),
        ([], "no model given"),
    ],
    ids=[
        "gamma-1.0",
        "gamma-negative",
        "gamma-not-a-number",
        "unknown-fusion",
        "growth-rate-0",
        "unknown-option",
        "option-without-value",
        "compact-without-value",
        "compact-unknown-key",
        "no-model",
    ],
)
def test_bad_specs_name_the_bad_value(words: list[str], fragment: str) -> None:
    with pytest.raises(SpecError, match=re.escape(fragment)):
        parse_specs(words)


def test_an_unknown_model_is_one_spec_error_with_a_suggestion() -> None:
    with pytest.raises(SpecError, match="densenet121"):
        load_network(ModelSpec("densenet12"))


def test_parse_list() -> None:
    assert parse_list("0, 0.25,0.5", "--gammas") == [0.0, 0.25, 0.5]
    assert parse_list("12,24", "--growth-rates", int) == [12, 24]
    with pytest.raises(SpecError, match="comma-separated"):
        parse_list("0.1;0.2", "--gammas")
    with pytest.raises(SpecError, match="empty"):
        parse_list(" , ", "--gammas")


TINY_CFG = """
[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2
"""


def test_a_cfg_path_is_a_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    (spec,) = parse_specs([str(cfg)])
    assert spec.label == "tiny"
    (profile,) = load_profiles([spec])
    # one 3×3 conv 3→8 at 64×64, stride 1: 3·8·9·64·64 MACs
    assert profile.totals.macs == 3 * 8 * 9 * 64 * 64
    with pytest.raises(SpecError, match="cfg file"):
        load_network(ModelSpec(str(cfg), gamma=0.5))


def test_each_word_is_checked_for_a_cfg_file_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import costmodel.specs

    calls: list[str] = []
    real = costmodel.specs.is_cfg

    def counting(model: str) -> bool:
        calls.append(model)
        return real(model)

    monkeypatch.setattr(costmodel.specs, "is_cfg", counting)
    (spec,) = parse_specs(["peleenet", "-g", "0.5", "-k", "16", "-i", "256"])
    load_profiles([spec])
    assert calls == ["peleenet"]
