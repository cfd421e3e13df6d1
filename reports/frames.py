"""Typed results as pandas DataFrames: the one place a profile, a sweep or a roofline becomes a table
of numbers.

These are the data behind every plot of ``reports.plots`` (the CSPNet paper's per-layer bottleneck
profile, per-stage totals, the γ sweep of §3.1, growth-rate scaling and a roofline), so a notebook
can plot them its own way and a test can check the data, not the pixels. Nothing here computes a
cost: the numbers come from ``costmodel`` (profiles, ``costmodel.sweeps``, ``costmodel.roofline``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import pandas as pd

from costmodel.analyze import Profile
from costmodel.compare import Comparison
from costmodel.roofline import Roofline
from costmodel.sweeps import ScalingRun, SweepPoint

__all__ = [
    "bottleneck_frame",
    "gamma_sweep_frame",
    "macs_frame",
    "profile_frame",
    "roofline_frame",
    "roofline_summary",
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
        (layer.name, layer.kind, layer.stage, cost.macs, cost.flops) for layer, cost in profile.macs_layers()
    ]
    frame = pd.DataFrame(rows, columns=["name", "kind", "stage", "macs", "flops"])
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


def gamma_sweep_frame(points: Sequence[SweepPoint]) -> pd.DataFrame:
    """One row per design of a ``costmodel.sweeps.gamma_sweep``: fusion, gamma, every count of
    ``costmodel.Cost``, flops and ``note``; an unbuildable design has empty counts and the reason."""
    rows = []
    for p in points:
        row: dict[str, object] = {"fusion": p.fusion, "gamma": p.gamma}
        if p.cost is None:
            row["note"] = p.note
        else:
            row.update(p.cost.as_dict(), flops=p.cost.flops, note="")
        rows.append(row)
    return pd.DataFrame(rows)


def scaling_frame(runs: Sequence[ScalingRun]) -> pd.DataFrame:
    """Per-layer FLOPs (2·MACs) of each model at each growth rate k, as ``macs_frame`` rows."""
    frames = []
    for run in runs:
        frame = macs_frame(run.profile)
        frame["model"] = run.label
        frame.insert(1, "growth_rate", run.growth_rate)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def roofline_frame(roofline: Roofline) -> pd.DataFrame:
    """One row per layer of a ``costmodel.roofline.Roofline``: work (FLOP), bytes moved, intensity,
    attainable FLOP/s, estimated time and which side of the ridge point it sits on."""
    rows = [{"model": roofline.model, **asdict(p)} for p in roofline.points]
    return pd.DataFrame(rows).rename(columns={"moved": "bytes"})


def roofline_summary(rooflines: Sequence[Roofline]) -> pd.DataFrame:
    """Per model: layers on each side of the ridge point and the estimated time they take."""
    return pd.DataFrame(
        [
            {
                "model": r.model,
                "device": r.device.name,
                "precision": r.precision,
                "ridge_flop_per_byte": r.ridge,
                "layers": len(r.points),
                "memory_bound_layers": len(r.memory_bound),
                "est_time_ms": 1e3 * r.time_s,
                "memory_bound_time_share": sum(p.time_s for p in r.memory_bound) / r.time_s,
            }
            for r in rooflines
        ]
    )


def bottleneck_frame(data: Comparison) -> pd.DataFrame:
    """Each model's bottleneck summary, with its reduction against the first model."""
    return pd.DataFrame(
        [
            {"model": m, **p.bottleneck.as_dict(), "reduction_vs_baseline": p.reduction_vs_baseline}
            for m, p in zip(data.models, data.peaks, strict=True)
        ]
    )
