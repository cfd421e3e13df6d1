"""The model-spec language: a named variant with knobs, ``cspdensenet201:gamma=0.5,fusion=csp``, a
design file written by ``cspcost search`` (``*.json``: base, knobs, input), a darknet ``.cfg`` path, or a
torch model: ``FILE.py:FACTORY``, ``package.module:FACTORY`` or ``timm:NAME``.

A comparison or a report names several models, each with its own knobs (the CSPNet paper's
partial ratio γ, the fusion strategy of its Figure 3, the growth rate, the input size): one
``ModelSpec`` each. The compact form spells each knob one way (``gamma``, ``fusion``,
``growth_rate``, ``input``); command-line options that follow a model (``--gamma 0.5``) are read
by ``cli.parse_specs``, which builds the same specs. A cfg path is loaded by ``costmodel.darknet``
(imported on demand); a torch model by ``costmodel.torch_models``, the one door from the core to the
torch side, opened only for such a spec (importing it runs the user's code, and loads torch).

>>> parse_spec("densenet121:gamma=0.5,input=256").label
'densenet121 γ=0.5 @256'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from costmodel.analyze import Profile, analyze
from costmodel.errors import SpecError, excerpt
from costmodel.families.common import FUSIONS
from costmodel.files import read_capped, shown
from costmodel.layer import Network
from costmodel.models import MODELS, entry, expand, resolve, scale, unknown_model

__all__ = [
    "ModelSpec",
    "is_cfg",
    "is_number",
    "is_torch",
    "knob_value",
    "load_network",
    "load_profile",
    "load_profiles",
    "parse_spec",
    "read_design",
]

DESIGN_FORMAT = "cspcost-design/1"
"""The ``format`` field of a design file; a file without it is not read as a design."""

# compact-form key -> knob name: one spelling per knob
KEYS: dict[str, str] = {
    "gamma": "gamma",
    "fusion": "fusion",
    "growth_rate": "growth_rate",
    "depth": "depth",
    "width": "width",
    "input": "input_size",
}


def is_cfg(model: str) -> bool:
    """True for a darknet cfg path (a name ending in ``.cfg`` or an existing file)."""
    return model.endswith(".cfg") or Path(model).is_file()


def is_torch(model: str) -> bool:
    """True for a torch model: ``timm:NAME``, ``FILE.py:FACTORY`` or ``package.module:FACTORY``
    (a dotted or plain module name that is not a named model, and a Python name after the colon;
    ``densenet121:gamma=0.5`` stays a named model with knobs)."""
    where, colon, attr = model.partition(":")
    if not colon or not attr:
        return False
    if where == "timm":
        return True
    if not attr.isidentifier():
        return False
    return where.endswith(".py") or (
        where not in MODELS and all(part.isidentifier() for part in where.split("."))
    )


@dataclass(frozen=True)
class ModelSpec:
    """One model of a comparison: a named variant or cfg path and the knobs given for it. ``cfg``
    (whether ``model`` is a darknet cfg path) is decided once, when the first spec of a word is made,
    and copied, not decided again, by ``replace``/``with_knobs``."""

    model: str
    gamma: float | None = None
    fusion: str | None = None
    growth_rate: int | None = None
    input_size: int | None = None
    depth: float | None = None
    width: float | None = None
    cfg: bool | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.cfg is None:
            object.__setattr__(self, "cfg", not is_torch(self.model) and is_cfg(self.model))

    @property
    def torch(self) -> bool:
        """Whether ``model`` names a torch model to trace (``is_torch``)."""
        return not self.cfg and is_torch(self.model)

    @property
    def named(self) -> bool:
        """Whether ``model`` is a named variant (with knobs to sweep), not a cfg or a torch model."""
        return not self.cfg and not self.torch

    def with_knobs(self, knobs: dict[str, float | int | str]) -> ModelSpec:
        """This spec with ``knobs`` (``gamma``, ``fusion``, ``growth_rate``, ``input_size``) set; each
        value converted by ``knob_value``, so its type fits its field."""
        return replace(self, **knobs)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        """A short, readable name for legends and column headers."""
        parts = [Path(self.model).stem if self.cfg else self.model]
        if self.gamma is not None:
            parts.append(f"γ={self.gamma:g}")
        if self.fusion is not None:
            parts.append(f"fusion={self.fusion}")
        if self.growth_rate is not None:
            parts.append(f"k={self.growth_rate}")
        if self.depth not in (None, 1.0):
            parts.append(f"d×{self.depth:g}")
        if self.width not in (None, 1.0):
            parts.append(f"w×{self.width:g}")
        if self.input_size is not None:
            parts.append(f"@{self.input_size}")
        return " ".join(parts)


def knob_value(knob: str, text: str, model: str) -> float | int | str:
    """Convert one knob's text, with a message that names the bad value and the fix."""
    who = excerpt(model, quote=False)
    if knob == "fusion":
        if text not in FUSIONS:
            raise SpecError(f"fusion {excerpt(text)} for {who} is not one of {', '.join(FUSIONS)}")
        return text
    floats = ("gamma", "depth", "width")
    try:
        value: float | int = float(text) if knob in floats else int(text)
    except ValueError:
        example = {"gamma": "0.5", "growth_rate": "32", "input_size": "224", "depth": "0.5", "width": "1.5"}
        what = "an integer" if knob not in floats and is_number(text) else "a number"
        raise SpecError(f"{knob} {excerpt(text)} for {who} is not {what}; use e.g. {example[knob]}") from None
    if knob == "gamma" and not 0.0 <= value < 1.0:
        raise SpecError(
            f"γ = {excerpt(text, quote=False)} for {who} is outside [0, 1); use e.g. 0.25, 0.5 or 0.75"
        )
    if knob in ("depth", "width") and not 0 < value <= 8:
        raise SpecError(
            f"{knob} multiplier {excerpt(text, quote=False)} for {who} must be in (0, 8], e.g. 0.5 or 1.5"
        )
    if knob != "gamma" and value <= 0:
        raise SpecError(f"{knob} = {excerpt(text, quote=False)} for {who} must be a positive integer")
    return value


def parse_spec(word: str) -> ModelSpec:
    """``name:gamma=0.5,fusion=csp,growth_rate=32,input=224`` → a spec (a bare name has no knobs;
    a design file ``*.json`` is read; a torch model or a cfg path is taken as it is)."""
    if word.endswith(".json"):
        return read_design(word)
    if is_torch(word):
        return ModelSpec(word, cfg=False)
    if is_cfg(word):
        return ModelSpec(word, cfg=True)
    name, _, rest = word.partition(":")
    if not name:
        raise SpecError(f"model spec {excerpt(word)} has no model name before ':'")
    spec = ModelSpec(name, cfg=False) if name == word else ModelSpec(name)
    for item in filter(None, rest.split(",")):
        key, eq, text = item.partition("=")
        knob = KEYS.get(key.strip())
        if knob is None or not eq:
            raise SpecError(
                f"cannot read {excerpt(item)} in {excerpt(word)}; write "
                f"name:gamma=0.5,fusion=csp,growth_rate=32,depth=0.5,width=1,input=224"
            )
        spec = spec.with_knobs({knob: knob_value(knob, text.strip(), name)})
    return spec


MAX_DESIGN_BYTES = 2**20
"""The largest design file read (1 MiB; ``cspcost search`` writes about 1 KB): anything bigger, a
pipe, a device or a folder is refused before it is read."""

DESIGN_KNOBS: dict[str, tuple[type, ...]] = {
    "gamma": (int, float),
    "fusion": (str,),
    "growth_rate": (int,),
    "depth": (int, float),
    "width": (int, float),
}
"""The knobs a design file's ``knobs`` may hold, and the JSON types each takes (``true`` is no number)."""


DESIGN_EXAMPLES = {"gamma": "0.5", "fusion": '"csp"', "growth_rate": "32", "depth": "0.5", "width": "1.5"}


def _json_type(value: object) -> str:
    kinds = {bool: "a boolean", str: "a string", list: "an array", dict: "an object", type(None): "null"}
    return kinds.get(type(value), "a number")


def _design_value(name: str, key: str, value: object, types: tuple[type, ...]) -> str:
    """``value`` of ``key`` in design file ``name`` as text for ``knob_value``, if its JSON type fits."""
    if isinstance(value, bool) or not isinstance(value, types):
        want = "a string" if str in types else "a number" if float in types else "an integer"
        raise SpecError(
            f'design file {name}: "{key}" is {excerpt(json.dumps(value), quote=False)}, {_json_type(value)}; '
            f"give {want} such as {DESIGN_EXAMPLES.get(key, '224')}"
        )
    return str(value)


def read_design(path: str) -> ModelSpec:
    """The model a design file (written by ``cspcost search``) names: its base and knobs at its
    deployment input. A missing, non-regular or oversized (``MAX_DESIGN_BYTES``) file, one that is not
    a JSON object in the design format, an unknown base, an unknown knob, a knob of the wrong JSON type
    or value, or a knob the base has not got is a ``SpecError`` naming the file and the value."""
    name = shown(path)
    if not os.path.lexists(path):
        raise SpecError(f"design file {name} does not exist; give a .json file written by cspcost search")
    fix = "give a .json file written by cspcost search"
    raw = read_capped(Path(path), MAX_DESIGN_BYTES, "design file", fix)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise SpecError(f"design file {name} is not JSON ({str(err)[:80]}); {fix}") from None
    except RecursionError:
        raise SpecError(f"design file {name} is nested too deeply to be a cspcost design; {fix}") from None
    if not isinstance(data, dict):
        raise SpecError(f"design file {name} holds {_json_type(data)}, not a JSON object; {fix}")
    if data.get("format") != DESIGN_FORMAT:
        found = (
            f'has "format": {excerpt(json.dumps(data["format"]), quote=False)}, not "{DESIGN_FORMAT}"'
            if "format" in data
            else f'lacks "format": "{DESIGN_FORMAT}"'
        )
        raise SpecError(f"design file {name} {found}; is it a cspcost design?")
    if "base" not in data:
        raise SpecError(
            f'design file {name} has no "base"; a design names its model, e.g. "base": "densenet121"'
        )
    base = data["base"]
    if not isinstance(base, str) or base not in MODELS:
        raise SpecError(
            f"design file {name}: base: {unknown_model(base if isinstance(base, str) else json.dumps(base))}"
        )
    knobs = data.get("knobs", {})
    if not isinstance(knobs, dict):
        raise SpecError(
            f'design file {name}: "knobs" is {_json_type(knobs)}, not an object such as '
            f'{{"gamma": 0.5, "fusion": "csp"}}'
        )
    spec = ModelSpec(base, cfg=False)
    for key, value in knobs.items():
        if key not in DESIGN_KNOBS:
            raise SpecError(
                f"design file {name}: unknown knob {excerpt(key)}; a design's knobs are "
                f"{', '.join(DESIGN_KNOBS)}"
            )
        if value is not None:
            text = _design_value(name, key, value, DESIGN_KNOBS[key])
            spec = spec.with_knobs({KEYS[key]: knob_value(KEYS[key], text, name)})
    if data.get("input") is not None:
        text = _design_value(name, "input", data["input"], (int,))
        spec = spec.with_knobs({"input_size": knob_value("input_size", text, name)})
    try:  # a knob the base has not got, or that contradicts another, is the file's fault: say which file
        scale(
            resolve(base, gamma=spec.gamma, fusion=spec.fusion, growth_rate=spec.growth_rate),
            spec.depth or 1.0,
            spec.width or 1.0,
        )
    except SpecError as err:
        raise SpecError(f"design file {name}: {err}") from None
    return spec


def is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


TORCH_INPUT = 224
"""The input size of a torch model when ``--input`` is not given."""


def load_network(spec: ModelSpec) -> Network:
    """Expand a spec into its layer graph (a cfg through ``costmodel.darknet``, a torch model
    through ``costmodel.torch_models``: its code runs)."""
    if spec.torch:
        if spec.gamma is not None or spec.fusion is not None or spec.growth_rate is not None:
            raise SpecError(
                f"{spec.model} is a torch model: --gamma, --fusion and --growth-rate do not apply; "
                f"change its factory instead (--input does)"
            )
        from costmodel import torch_models

        size = spec.input_size if spec.input_size is not None else TORCH_INPUT
        return torch_models.load(spec.model, size)
    if spec.cfg and spec.model.endswith(".py"):
        raise SpecError(
            f"{spec.model} is a Python file; name the function that returns the model: "
            f"{spec.model}:FACTORY (e.g. {spec.model}:make)"
        )
    if spec.cfg:
        knobs = (spec.gamma, spec.fusion, spec.growth_rate, spec.depth, spec.width)
        if any(k is not None for k in knobs):
            raise SpecError(
                f"{excerpt(spec.model, quote=False)} is a cfg file: --gamma, --fusion, --growth-rate, depth "
                f"and width do "
                f"not apply; edit the file instead"
            )
        from costmodel import darknet

        return darknet.load(spec.model, spec.input_size)
    found = entry(spec.model)
    config = resolve(spec.model, gamma=spec.gamma, fusion=spec.fusion, growth_rate=spec.growth_rate)
    config = scale(config, spec.depth or 1.0, spec.width or 1.0)
    size = spec.input_size if spec.input_size is not None else found.default_input
    return expand(config, size)


def load_profile(spec: ModelSpec, precision: str = "fp32") -> Profile:
    """Analyse a spec at a precision; the network is renamed to the spec's label for legends."""
    return load_profiles([spec], precision)[0]


def load_profiles(specs: Sequence[ModelSpec], precision: str = "fp32") -> list[Profile]:
    """Profiles of several specs, each network named by its spec's label; a label given twice gets
    ``#2``, ``#3`` so legends stay apart."""
    profiles: list[Profile] = []
    seen: dict[str, int] = {}
    for spec in specs:
        label = spec.label
        seen[label] = seen.get(label, 0) + 1
        name = label if seen[label] == 1 else f"{label} #{seen[label]}"
        profiles.append(analyze(load_network(spec)._replace(name=name), precision))
    return profiles
