"""Models side by side: totals and per-stage costs, each with its delta against the first model.

The CSPNet paper's claims are relative ("cuts computation by 10–20 %", "CIO at most half"), so every
value carries ``Δ% = 100·(value − baseline) / baseline`` against the first model given. Units follow
``costmodel.CONVENTIONS`` (``UNITS`` names the raw unit of each metric); bytes are at each profile's
precision. ``compare`` returns a typed ``Comparison``; ``Comparison.to_dict`` is the JSON contract of
``cspcost compare --format json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costmodel.analyze import CONVENTIONS, Profile
from costmodel.bottleneck import Bottleneck, bottleneck_reduction
from costmodel.cost import Cost
from costmodel.derived import derived
from costmodel.specs import ModelSpec, load_profiles

__all__ = [
    "STAGE_KEYS",
    "TOTAL_KEYS",
    "UNITS",
    "Comparison",
    "Entry",
    "PeakRow",
    "compare",
    "compare_specs",
    "delta_pct",
    "metrics",
]

TOTAL_KEYS: tuple[str, ...] = (
    "macs",
    "flops",
    "bflops_darknet",
    "bflops_darknet_current",
    "params",
    "params_conv",
    "cio_conv",
    "cio_conv_pool",
    "concat_elements",
    "act_bytes",
    "weight_bytes",
)
"""The metrics compared on the totals, in order."""
STAGE_KEYS: tuple[str, ...] = ("macs", "params", "cio_conv", "cio_conv_pool", "concat_elements", "act_bytes")
"""The metrics compared per stage, in order."""
UNITS: dict[str, str] = {
    "macs": "MACs",
    "flops": "FLOPs (2·MACs)",
    "bflops_darknet": "GFLOPs, darknet 2019 convention (conv + pooling)",
    "bflops_darknet_current": "GFLOPs, today's darknet convention (+ shortcut term)",
    "params": "parameters",
    "params_conv": "conv weights",
    "cio_conv": "elements",
    "cio_conv_pool": "elements",
    "concat_elements": "elements",
    "act_bytes": "bytes",
    "weight_bytes": "bytes",
}
"""The raw unit of each compared metric (CSV and JSON keep raw counts)."""


def metrics(cost: Cost, bytes_per_element: int) -> dict[str, float]:
    """Every metric of ``TOTAL_KEYS`` for one cost (a layer, a stage or a network)."""
    return {**cost.as_dict(), **derived(cost, bytes_per_element)}


def delta_pct(value: float, baseline: float) -> float | None:
    """``100·(value − baseline)/baseline``; 0 when both are 0, ``None`` when only the baseline
    is."""
    if baseline == 0:
        return 0.0 if value == 0 else None
    return 100.0 * (value - baseline) / baseline


@dataclass(frozen=True)
class Entry:
    """One model's value of one metric and its delta against the first model (``None``: absent)."""

    value: float | None
    delta_pct: float | None


@dataclass(frozen=True)
class PeakRow:
    """One model's bottleneck and its reduction ``1 − peak / peak(first model)``."""

    bottleneck: Bottleneck
    reduction_vs_baseline: float


@dataclass(frozen=True)
class Comparison:
    """Totals, per-stage metrics and bottlenecks of several models, aligned with ``models``."""

    models: tuple[str, ...]
    inputs: tuple[tuple[int, int, int], ...]
    precision: str | list[str]
    totals: dict[str, tuple[Entry, ...]]
    stages: dict[str, dict[str, tuple[Entry, ...]]]
    """``stages[stage][metric]``; a stage a model lacks has value ``None``."""
    peaks: tuple[PeakRow, ...]

    @property
    def baseline(self) -> str:
        return self.models[0]

    def records(self) -> list[dict[str, Any]]:
        """Tidy rows: scope (``total`` or a stage), metric, unit, model, value and delta_pct."""
        rows: list[dict[str, Any]] = []
        for scope, table in [("total", self.totals), *self.stages.items()]:
            for metric, entries in table.items():
                for model, e in zip(self.models, entries, strict=True):
                    rows.append(
                        {
                            "scope": scope,
                            "metric": metric,
                            "unit": UNITS[metric],
                            "model": model,
                            "value": e.value,
                            "delta_pct": e.delta_pct,
                        }
                    )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``cspcost compare --format json``."""

        def entries(es: tuple[Entry, ...]) -> list[dict[str, float | None]]:
            return [{"value": e.value, "delta_pct": e.delta_pct} for e in es]

        return {
            "models": list(self.models),
            "inputs": [list(s) for s in self.inputs],
            "precision": self.precision,
            "baseline": self.baseline,
            "conventions": dict(CONVENTIONS),
            "units": dict(UNITS),
            "totals": {k: entries(v) for k, v in self.totals.items()},
            "stages": {s: {k: entries(v) for k, v in t.items()} for s, t in self.stages.items()},
            "bottleneck": [
                {**p.bottleneck.as_dict(), "reduction_vs_baseline": p.reduction_vs_baseline}
                for p in self.peaks
            ],
        }


def _entries(values: list[float | None]) -> tuple[Entry, ...]:
    base = values[0]
    return tuple(Entry(v, None if v is None or base is None else delta_pct(v, base)) for v in values)


def compare(profiles: Sequence[Profile]) -> Comparison:
    """Totals and per-stage metrics of each profile, with deltas against the first."""
    if not profiles:
        raise ValueError("a comparison needs at least one profile")
    precisions = {p.precision for p in profiles}
    stage_costs = [p.stage_totals() for p in profiles]
    stage_names: list[str] = []
    for st in stage_costs:
        stage_names += [s for s in st if s not in stage_names]
    total_values = [metrics(p.totals, p.bytes_per_element) for p in profiles]
    stages: dict[str, dict[str, tuple[Entry, ...]]] = {}
    for stage in stage_names:
        per_model = [
            metrics(st[stage], p.bytes_per_element) if stage in st else None
            for p, st in zip(profiles, stage_costs, strict=True)
        ]
        stages[stage] = {
            key: _entries([None if m is None else m[key] for m in per_model]) for key in STAGE_KEYS
        }
    summaries = [p.bottleneck() for p in profiles]
    return Comparison(
        models=tuple(p.name for p in profiles),
        inputs=tuple(tuple(p.network.input_shape) for p in profiles),  # type: ignore[misc]
        precision=profiles[0].precision if len(precisions) == 1 else sorted(precisions),
        totals={key: _entries([v[key] for v in total_values]) for key in TOTAL_KEYS},
        stages=stages,
        peaks=tuple(PeakRow(b, bottleneck_reduction(summaries[0], b)) for b in summaries),
    )


def compare_specs(specs: Sequence[ModelSpec], precision: str = "fp32") -> Comparison:
    """``compare`` of the profiles of ``specs`` (``cspcost compare``)."""
    return compare(load_profiles(specs, precision))
