"""Profiles as pandas DataFrames: the one place a profile becomes a table of numbers.

Besides the per-layer frame, these are the data behind every plot of ``reports.plots`` (the CSPNet
paper's per-layer bottleneck profile, per-stage totals, the γ sweep of §3.1, growth-rate scaling and
a roofline), so a notebook can plot them its own way and a test can check the data, not the pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from costmodel.analyze import Profile, analyze
from costmodel.errors import SpecError
from costmodel.specs import ModelSpec, is_cfg, load_network, load_profile
from reports.devices import Device

__all__ = [
    "SWEEP_FUSIONS",
    "SWEEP_METRICS",
    "gamma_sweep_frame",
    "macs_frame",
    "profile_frame",
    "roofline_frame",
    "scaling_frame",
    "stage_frame",
]


def _shape(dims: list[int]) -> str:
    return "×".join(map(str, dims))


def profile_frame(profile: Profile) -> pd.DataFrame:
    """One row per layer in execution order, with every per-layer column of the JSON contract."""
    rows = [profile.layer_dict(layer, cost) for layer, cost in profile.rows()]
    frame = pd.DataFrame(rows)
    frame["in_shape"] = frame["in_shape"].map(lambda shapes: " + ".join(map(_shape, shapes)))
    frame["out_shape"] = frame["out_shape"].map(_shape)
    return frame.set_index("name")


def macs_frame(profile: Profile) -> pd.DataFrame:
    """The layers that do MACs, in execution order: the profile the bottleneck is read from.

    ``position`` counts those layers from 0; ``depth`` is ``position / (count − 1)`` in [0, 1], so
    networks of different lengths line up.
    """
    rows = [
        (layer.name, layer.kind, layer.stage, cost.macs) for layer, cost in profile.rows() if cost.macs > 0
    ]
    frame = pd.DataFrame(rows, columns=["name", "kind", "stage", "macs"])
    frame["flops"] = 2 * frame["macs"]
    frame.insert(0, "position", range(len(frame)))
    frame["depth"] = frame["position"] / max(len(frame) - 1, 1)
    frame.insert(0, "model", profile.name)
    return frame


def stage_frame(profiles: Sequence[Profile]) -> pd.DataFrame:
    """One row per (model, stage) in network order, with the stage's summed counts."""
    rows = [
        {"model": p.name, "stage": stage, **cost.as_dict(), "flops": cost.flops}
        for p in profiles
        for stage, cost in p.stage_totals().items()
    ]
    return pd.DataFrame(rows)


SWEEP_FUSIONS: tuple[str, ...] = ("fusion_first", "fusion_last", "csp")
SWEEP_METRICS: tuple[str, ...] = ("macs", "params", "cio_conv_pool")


def gamma_sweep_frame(
    spec: ModelSpec,
    gammas: Sequence[float],
    fusions: Sequence[str] = SWEEP_FUSIONS,
    include_plain: bool = True,
) -> pd.DataFrame:
    """Totals of ``spec``'s model as γ and the fusion strategy vary (CSPNet paper §3.1, Figure 3).

    Each γ must lie in [0, 1). Rows: fusion, gamma, every count of ``costmodel.Cost`` and ``note``;
    a design the family cannot build (a channel count rounds to zero) keeps its row with empty
    counts and the reason in ``note``, so a plot shows a gap rather than the sweep failing.
    ``include_plain`` puts the plain model (fusion ``none``, γ = 0) first: the baseline.
    """
    if is_cfg(spec.model):
        raise SpecError(f"{spec.model} is a cfg file and has no γ to sweep; use a named model")
    for g in gammas:
        if isinstance(g, bool) or not isinstance(g, int | float) or not 0.0 <= g < 1.0:
            raise SpecError(f"sweep value γ = {g!r} is outside [0, 1); give values such as 0,0.1,...,0.9")
    points = [(f, float(g)) for f in fusions for g in gammas]
    rows = []
    for fusion, g in [("none", 0.0), *points] if include_plain else points:
        row: dict[str, object] = {"fusion": fusion, "gamma": g}
        try:
            cost = analyze(load_network(replace(spec, gamma=g, fusion=fusion))).totals
        except SpecError as err:
            row["note"] = str(err)
        else:
            row.update(cost.as_dict(), flops=cost.flops, note="")
        rows.append(row)
    return pd.DataFrame(rows)


def scaling_frame(specs: Sequence[ModelSpec], growth_rates: Sequence[int]) -> pd.DataFrame:
    """Per-layer FLOPs (2·MACs) of each model at each growth rate k, as ``macs_frame`` rows."""
    frames = []
    for spec in specs:
        for k in growth_rates:
            frame = macs_frame(load_profile(replace(spec, growth_rate=k)))
            frame["model"] = spec.label
            frame.insert(1, "growth_rate", k)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def roofline_frame(profile: Profile, device: Device) -> pd.DataFrame:
    """Each layer that does arithmetic, placed on ``device``'s roofline at the profile's precision.

    ``work`` is flops + flops_other (FLOP), ``bytes`` every activation and weight byte moved,
    ``attainable`` = min(peak, bandwidth · intensity) in FLOP/s, ``time_s`` = max(work / peak,
    bytes / bandwidth), and ``bound`` says which side of the ridge point the layer sits on.
    """
    peak, bw = device.peak(profile.precision), device.bandwidth
    rows = []
    for layer, cost in profile.rows():
        d = profile.layer_dict(layer, cost)
        work = d["flops"] + d["flops_other"]
        moved = d["act_bytes"] + d["weight_bytes"]
        if work == 0 or moved == 0:
            continue
        intensity = work / moved
        rows.append(
            {
                "model": profile.name,
                "name": layer.name,
                "kind": layer.kind,
                "stage": layer.stage,
                "work": work,
                "bytes": moved,
                "intensity": intensity,
                "attainable": min(peak, bw * intensity),
                "time_s": max(work / peak, moved / bw),
                "bound": "compute" if intensity >= peak / bw else "memory",
            }
        )
    return pd.DataFrame(rows)
