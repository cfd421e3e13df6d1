"""Model specifications on a command line: ``densenet201 cspdensenet201 --gamma 0.5 --fusion csp``.

A comparison or a report names several models, each with its own knobs (the CSPNet paper's
partial ratio γ, the fusion strategy of its Figure 3, the growth rate, the input size).
``parse_specs`` reads such a list of words: an option applies to the model it follows, options
before the first model apply to every model, and a compact form
``cspdensenet201:gamma=0.5,fusion=csp`` says the same in one word.
A model may also be a darknet ``.cfg`` path, loaded by ``costmodel.darknet`` (imported on demand).

>>> [s.label for s in parse_specs(["densenet121", "densenet121", "-g", "0.5", "--input", "256"])]
['densenet121', 'densenet121 γ=0.5 @256']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from costmodel.analyze import Profile, analyze
from costmodel.errors import SpecError, excerpt
from costmodel.families.common import FUSIONS
from costmodel.graph import Network
from costmodel.zoo import MODELS, expand, resolve, unknown_model

__all__ = [
    "ModelSpec",
    "is_cfg",
    "load_network",
    "load_profile",
    "load_profiles",
    "parse_list",
    "parse_specs",
]

# option spelling -> knob name
OPTIONS: dict[str, str] = {
    "--gamma": "gamma",
    "-g": "gamma",
    "--fusion": "fusion",
    "-f": "fusion",
    "--growth-rate": "growth_rate",
    "-k": "growth_rate",
    "--input": "input_size",
    "-i": "input_size",
}
# compact-form key -> knob name
KEYS: dict[str, str] = {
    "gamma": "gamma",
    "g": "gamma",
    "part_ratio": "gamma",
    "fusion": "fusion",
    "f": "fusion",
    "growth_rate": "growth_rate",
    "growth-rate": "growth_rate",
    "k": "growth_rate",
    "input": "input_size",
    "input_size": "input_size",
    "i": "input_size",
}


def is_cfg(model: str) -> bool:
    """True for a darknet cfg path (a name ending in ``.cfg`` or an existing file)."""
    return model.endswith(".cfg") or Path(model).is_file()


@dataclass(frozen=True)
class ModelSpec:
    """One model of a comparison: a named variant or cfg path and the knobs given for it."""

    model: str
    gamma: float | None = None
    fusion: str | None = None
    growth_rate: int | None = None
    input_size: int | None = None

    @property
    def label(self) -> str:
        """A short, readable name for legends and column headers."""
        parts = [Path(self.model).stem if is_cfg(self.model) else self.model]
        if self.gamma is not None:
            parts.append(f"γ={self.gamma:g}")
        if self.fusion is not None:
            parts.append(f"fusion={self.fusion}")
        if self.growth_rate is not None:
            parts.append(f"k={self.growth_rate}")
        if self.input_size is not None:
            parts.append(f"@{self.input_size}")
        return " ".join(parts)


def _value(knob: str, text: str, model: str) -> Any:
    """Convert one knob's text, with a message that names the bad value and the fix."""
    who = excerpt(model, quote=False)
    if knob == "fusion":
        if text not in FUSIONS:
            raise SpecError(f"fusion {excerpt(text)} for {who} is not one of {', '.join(FUSIONS)}")
        return text
    try:
        value: float | int = float(text) if knob == "gamma" else int(text)
    except ValueError:
        example = {"gamma": "0.5", "growth_rate": "32", "input_size": "224"}[knob]
        what = "an integer" if knob != "gamma" and _is_number(text) else "a number"
        raise SpecError(f"{knob} {excerpt(text)} for {who} is not {what}; use e.g. {example}") from None
    if knob == "gamma" and not 0.0 <= value < 1.0:
        raise SpecError(
            f"γ = {excerpt(text, quote=False)} for {who} is outside [0, 1); use e.g. 0.25, 0.5 or 0.75"
        )
    if knob != "gamma" and value <= 0:
        raise SpecError(f"{knob} = {excerpt(text, quote=False)} for {who} must be a positive integer")
    return value


def _compact(word: str) -> ModelSpec:
    """``name:gamma=0.5,fusion=csp`` → a spec (a bare name has no knobs)."""
    name, _, rest = word.partition(":")
    if not name:
        raise SpecError(f"model spec {excerpt(word)} has no model name before ':'")
    spec = ModelSpec(name)
    for item in filter(None, rest.split(",")):
        key, eq, text = item.partition("=")
        knob = KEYS.get(key.strip())
        if knob is None or not eq:
            raise SpecError(
                f"cannot read {excerpt(item)} in {excerpt(word)}; write "
                f"name:gamma=0.5,fusion=csp,growth_rate=32,input=224"
            )
        spec = replace(spec, **{knob: _value(knob, text.strip(), name)})
    return spec


def parse_specs(words: Sequence[str]) -> list[ModelSpec]:
    """Read model specs from command-line words (see the module docstring)."""
    specs: list[ModelSpec] = []
    defaults: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and not _is_number(word):
            opt, eq, inline = word.partition("=")
            knob = OPTIONS.get(opt)
            if knob is None:
                raise SpecError(
                    f"unknown option {excerpt(opt)}; a model takes --gamma, --fusion, --growth-rate "
                    f"and --input"
                )
            if eq:
                text = inline
            elif i + 1 < len(words):
                i += 1
                text = words[i]
            else:
                raise SpecError(f"option {opt} needs a value")
            owner = specs[-1].model if specs else "every model"
            value = _value(knob, text, owner)
            if specs:
                specs[-1] = replace(specs[-1], **{knob: value})
            else:
                defaults[knob] = value
        else:
            spec = ModelSpec(word) if is_cfg(word) else _compact(word)
            given = {k: v for k, v in defaults.items() if getattr(spec, k) is None}
            specs.append(replace(spec, **given))
        i += 1
    if not specs:
        raise SpecError("no model given; name at least one, e.g. densenet201 cspdensenet201")
    return specs


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def load_network(spec: ModelSpec) -> Network:
    """Expand a spec into its layer graph (a cfg through ``costmodel.darknet``)."""
    if is_cfg(spec.model):
        if spec.gamma is not None or spec.fusion is not None or spec.growth_rate is not None:
            raise SpecError(
                f"{excerpt(spec.model, quote=False)} is a cfg file: --gamma, --fusion and --growth-rate do "
                f"not apply; edit the file instead"
            )
        from costmodel import darknet

        return darknet.load(spec.model, spec.input_size)
    if spec.model not in MODELS:
        raise unknown_model(spec.model, sorted(MODELS))
    config = resolve(spec.model, gamma=spec.gamma, fusion=spec.fusion, growth_rate=spec.growth_rate)
    size = spec.input_size if spec.input_size is not None else MODELS[spec.model].default_input
    return expand(config, size)


def load_profile(spec: ModelSpec, precision: str = "fp32") -> Profile:
    """Analyse a spec at a precision; the network is renamed to the spec's label for legends."""
    return analyze(load_network(spec)._replace(name=spec.label), precision)


def load_profiles(specs: Sequence[ModelSpec], precision: str = "fp32") -> list[Profile]:
    """Profiles of several specs; a label given twice gets ``#2``, ``#3`` so legends stay apart."""
    profiles: list[Profile] = []
    seen: dict[str, int] = {}
    for spec in specs:
        profile = load_profile(spec, precision)
        seen[profile.name] = seen.get(profile.name, 0) + 1
        if seen[profile.name] > 1:
            net = profile.network
            renamed = Network(f"{net.name} #{seen[profile.name]}", net.input_shape, net.layers)
            profile = analyze(renamed, precision)
        profiles.append(profile)
    return profiles


def parse_list(text: str, what: str, kind: type[float] | type[int] = float) -> list[float]:
    """A comma-separated list of numbers (``"0,0.25,0.5"``) for option ``what``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        values = [kind(t) for t in items]
    except ValueError:
        raise SpecError(
            f"{what} {excerpt(text)} is not a comma-separated list of numbers; use e.g. "
            f"{'0,0.25,0.5,0.75' if kind is float else '12,24,32'}"
        ) from None
    if not values:
        raise SpecError(f"{what} is empty; give at least one value")
    return values
