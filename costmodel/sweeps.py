"""Design sweeps: totals as γ and the fusion strategy vary (CSPNet paper §3.1, Figure 3), and
per-layer profiles as the growth rate varies.

Both return typed rows that ``reports.frames`` turns into DataFrames and ``reports.plots`` draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from costmodel.analyze import Profile, analyze
from costmodel.cost import Cost
from costmodel.errors import SpecError
from costmodel.specs import ModelSpec, load_network, load_profile

__all__ = ["SWEEP_FUSIONS", "GammaSweep", "ScalingRun", "SweepPoint", "gamma_sweep", "growth_scaling"]

SWEEP_FUSIONS: tuple[str, ...] = ("fusion_first", "fusion_last", "csp")


@dataclass(frozen=True)
class SweepPoint:
    """One design of a γ sweep: its totals, or ``None`` and the reason when the family cannot
    build it (a channel count rounds to zero)."""

    fusion: str
    gamma: float
    cost: Cost | None
    note: str = ""


@dataclass(frozen=True)
class GammaSweep:
    """A whole sweep of one model: its label and its points, plain model first."""

    label: str
    points: tuple[SweepPoint, ...]


def gamma_sweep(
    spec: ModelSpec,
    gammas: Sequence[float],
    fusions: Sequence[str] = SWEEP_FUSIONS,
    include_plain: bool = True,
) -> list[SweepPoint]:
    """Totals of ``spec``'s model for each fusion strategy and each γ in [0, 1); ``include_plain``
    puts the plain model (fusion ``none``, γ = 0) first: the baseline. An unbuildable design keeps
    its point, with the reason, so a plot shows a gap rather than the sweep failing."""
    if not spec.named:
        what = "a cfg file" if spec.cfg else "a torch model"
        raise SpecError(f"{spec.model} is {what} and has no γ to sweep; use a named model")
    for g in gammas:
        if isinstance(g, bool) or not isinstance(g, int | float) or not 0.0 <= g < 1.0:
            raise SpecError(f"sweep value γ = {g!r} is outside [0, 1); give values such as 0,0.1,...,0.9")
    points = [(f, float(g)) for f in fusions for g in gammas]
    out: list[SweepPoint] = []
    for fusion, g in [("none", 0.0), *points] if include_plain else points:
        try:
            cost = analyze(load_network(replace(spec, gamma=g, fusion=fusion))).totals
        except SpecError as err:
            out.append(SweepPoint(fusion, g, None, str(err)))
        else:
            out.append(SweepPoint(fusion, g, cost))
    return out


@dataclass(frozen=True)
class ScalingRun:
    """One model at one growth rate."""

    label: str
    growth_rate: int
    profile: Profile


def growth_scaling(specs: Sequence[ModelSpec], growth_rates: Sequence[int]) -> list[ScalingRun]:
    """Each model's profile at each growth rate ``k``, labelled by the spec as given."""
    return [
        ScalingRun(spec.label, k, load_profile(replace(spec, growth_rate=k)))
        for spec in specs
        for k in growth_rates
    ]
