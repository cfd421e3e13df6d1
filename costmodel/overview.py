"""Everything a plot or the HTML report shows about a set of models, computed in one place.

``plot_data(kind, specs, ...)`` returns what ``cspcost plot KIND`` draws; ``overview(specs, ...)``
returns what ``cspcost report`` renders: profiles, the comparison, a γ sweep of the first named
model, growth-rate scaling of the first two and a roofline per model. ``reports`` renders these
typed results and computes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from costmodel.analyze import Profile
from costmodel.compare import Comparison, compare
from costmodel.errors import SpecError
from costmodel.reproduce import Claim, ScopeRow, bottleneck_scopes, claims
from costmodel.roofline import DEVICES, Device, Roofline, roofline
from costmodel.specs import ModelSpec, load_profiles
from costmodel.sweeps import GammaSweep, ScalingRun, gamma_sweep, growth_scaling

__all__ = [
    "DEFAULT_DEVICE",
    "DEFAULT_GAMMAS",
    "DEFAULT_GROWTH_RATES",
    "PLOT_KINDS",
    "Overview",
    "PlotData",
    "overview",
    "plot_data",
]

DEFAULT_GAMMAS: tuple[float, ...] = tuple(i / 10 for i in range(10))
DEFAULT_GROWTH_RATES: tuple[int, ...] = (12, 24, 32, 48)
DEFAULT_DEVICE = "jetson-nano"
PLOT_KINDS: tuple[str, ...] = ("bottleneck", "scaling", "stages", "gamma", "roofline")

PlotData = list[Profile] | GammaSweep | list[ScalingRun] | list[Roofline]
"""What one plot kind draws: profiles (bottleneck, stages), a γ sweep, scaling runs or rooflines."""


def _sweep(spec: ModelSpec, gammas: Sequence[float]) -> GammaSweep:
    spec = replace(spec, gamma=None, fusion=None)
    return GammaSweep(spec.label, tuple(gamma_sweep(spec, gammas)))


def plot_data(
    kind: str,
    specs: Sequence[ModelSpec],
    *,
    precision: str = "fp32",
    device: Device | None = None,
    gammas: Sequence[float] = DEFAULT_GAMMAS,
    growth_rates: Sequence[int] = DEFAULT_GROWTH_RATES,
) -> PlotData:
    """The data ``cspcost plot KIND`` draws, for models given as specs."""
    if kind == "gamma":
        if len(specs) != 1:
            raise SpecError(
                f"a γ sweep plots one model; got {len(specs)} — give just one, e.g. "
                f"cspcost plot gamma peleenet"
            )
        return _sweep(specs[0], gammas)
    if kind == "scaling":
        return growth_scaling(specs, growth_rates)
    if kind not in PLOT_KINDS:
        raise SpecError(f"unknown plot kind {kind!r}; use one of {', '.join(PLOT_KINDS)}")
    profiles = load_profiles(specs, precision)
    if kind == "roofline":
        return [roofline(p, device or DEVICES[DEFAULT_DEVICE]) for p in profiles]
    return profiles


@dataclass(frozen=True)
class Overview:
    """The numbers of a report: ``sweep`` is None without a named model (a cfg has no γ);
    ``scaling`` is None when there is none, with the reason in ``scaling_note``."""

    profiles: list[Profile]
    comparison: Comparison
    device: Device
    precision: str
    growth_rates: tuple[int, ...]
    rooflines: list[Roofline]
    sweep: GammaSweep | None
    scaling: list[ScalingRun] | None
    scaling_note: str = ""
    claims: list[Claim] = field(default_factory=list)
    """The CSPNet paper's claims, ours beside each (``costmodel.reproduce.claims``)."""
    scopes: list[ScopeRow] = field(default_factory=list)
    """The bottleneck per scope of PeleeNet/CSPPeleeNet and DenseNet-201/CSPDenseNet-201."""


def overview(
    specs: Sequence[ModelSpec],
    *,
    precision: str = "fp32",
    device: Device,
    gammas: Sequence[float] = DEFAULT_GAMMAS,
    growth_rates: Sequence[int] = DEFAULT_GROWTH_RATES,
) -> Overview:
    """Everything ``cspcost report`` shows about ``specs``."""
    profiles = load_profiles(specs, precision)
    named = [s for s in specs if not s.cfg]
    scaling: list[ScalingRun] | None = None
    note = "" if named else "no named model: a cfg file has no growth-rate knob"
    if named:
        try:
            scaling = growth_scaling(named[:2], growth_rates)
        except SpecError as err:
            note = f"not drawn: {err}"
    return Overview(
        profiles=profiles,
        comparison=compare(profiles),
        device=device,
        precision=precision,
        growth_rates=tuple(growth_rates),
        rooflines=[roofline(p, device) for p in profiles],
        sweep=_sweep(named[0], gammas) if named else None,
        scaling=scaling,
        scaling_note=note,
        claims=claims(),
        scopes=bottleneck_scopes(),
    )
