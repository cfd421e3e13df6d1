"""What a trial measured, as a typed record: ``TrialRow``, the one view of a study's trials that
``reports.search_report`` renders (a table, a Pareto plot, a report section)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "ARTIFACTS_ATTR",
    "RESULT_ATTR",
    "WEIGHTS_ATTR",
    "TrialRow",
    "is_feasible",
    "result_of",
    "trial_rows",
]

WEIGHTS_ATTR = "proxy_weights_artifact"
"""User attribute of a trained trial: the id of its proxy weights in the study's artifact store."""

ARTIFACTS_ATTR = "cspcost.artifacts"
"""Study user attribute: the folder of the study's artifact store (the proxy-trained weights)."""

RESULT_ATTR = "result"
"""Where studies made before measurements had one user attribute each kept everything measured."""


def result_of(t: FrozenTrial) -> dict[str, Any]:
    """What the trial measured: design, costs, latency, accuracy, or why it was skipped/failed (one
    user attribute each; older studies kept them all in ``RESULT_ATTR``)."""
    out = dict(t.user_attrs.get(RESULT_ATTR, {}))
    out.update((k, v) for k, v in t.user_attrs.items() if k != RESULT_ATTR)
    return out


def is_feasible(t: FrozenTrial) -> bool:
    return (
        t.state == TrialState.COMPLETE
        and "skipped" not in result_of(t)
        and "error" not in result_of(t)
        and all(v <= 0 for v in t.constraints.values())
    )


@dataclass(frozen=True)
class TrialRow:
    """One trial: its design, analytic costs (MFLOPs = 2·MACs/1e6 at batch 1, params, CIO over conv
    and pool layers), measured latency (ms, with runtime, batch and threads; eager torch beside
    it), validation accuracy (mean over ``seeds`` and its 95% half-width), test accuracy (front
    designs only), and its place on the Pareto front (``pareto_rank``, best first objective
    first)."""

    number: int
    state: str
    design: str
    fusion: str | None
    gamma: float | None
    growth_rate: int | None
    depth: float | None
    width: float | None
    mflops: float | None
    params: float | None
    cio: float | None
    accuracy: float | None
    accuracy_ci95: float | None
    seeds: int | None
    epochs: int | None
    test_accuracy: float | None
    test_ci95: float | None
    latency_ms: float | None
    latency_iqr_ms: float | None
    latency_batch: int | None
    latency_threads: int | None
    latency_runtime: str | None
    latency_noisy: bool | None
    eager_torch_ms: float | None
    feasible: bool
    skipped: str | None
    error: str | None
    halted: str | None
    duplicate_of: int | None
    pareto: bool
    pareto_rank: int | None


def trial_rows(
    trials: Sequence[FrozenTrial],
    pareto: Sequence[FrozenTrial] = (),
    tested: dict[int, dict[str, Any]] | None = None,
) -> list[TrialRow]:
    """One ``TrialRow`` per trial, in order; ``tested``: the front's test-split accuracies."""
    rank = {t.number: i for i, t in enumerate(pareto)}
    tested = tested or {}
    rows = []
    for t in trials:
        a = result_of(t)
        lat = next((v for k, v in a.items() if k.startswith("latency_") and isinstance(v, dict)), {})
        test = tested.get(t.number, {})
        seeds = a.get("seeds")
        rows.append(
            TrialRow(
                number=t.number,
                state=t.state.name,
                design=a.get("design", ""),
                fusion=t.params.get("fusion"),
                gamma=t.params.get("gamma"),
                growth_rate=t.params.get("growth_rate"),
                depth=t.params.get("depth"),
                width=t.params.get("width"),
                mflops=a.get("mflops"),
                params=a.get("params"),
                cio=a.get("cio"),
                accuracy=a.get("accuracy"),
                accuracy_ci95=a.get("accuracy_ci95"),
                seeds=len(seeds) if isinstance(seeds, list) else None,
                epochs=a.get("epochs"),
                test_accuracy=test.get("mean"),
                test_ci95=test.get("ci95"),
                latency_ms=a.get("latency_ms"),
                latency_iqr_ms=a.get("latency_iqr_ms"),
                latency_batch=lat.get("batch_size"),
                latency_threads=lat.get("threads"),
                latency_runtime=a.get("latency_runtime", lat.get("runtime")),
                latency_noisy=a.get("latency_noisy", lat.get("noisy")),
                eager_torch_ms=a.get("eager_torch_ms"),
                feasible=is_feasible(t),
                skipped=a.get("skipped"),
                error=a.get("error"),
                halted=a.get("halted"),
                duplicate_of=a.get("duplicate_of"),
                pareto=t.number in rank,
                pareto_rank=rank.get(t.number),
            )
        )
    return rows
