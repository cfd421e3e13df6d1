"""One trial, cheapest first: analytic costs (an over-budget design is never built), then latency,
then a short seeded training run (CSPNet paper, Wang et al., CVPRW 2020)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from costmodel import Config, Network, analyze, expand
from costmodel.derived import mflops
from search.data import Dataset
from search.results import result_of
from search.space import Family, family, suggest
from search.spec import SearchSpec

__all__ = ["Evaluator", "design_costs"]


# --- one trial ------------------------------------------------------------------------------------


def design_costs(config: Config, size: int) -> tuple[Network, dict[str, float]]:
    """The network of ``config`` at ``size`` px and its analytic costs at batch 1."""
    network = expand(config, size)
    t = analyze(network).totals
    return network, {"macs": t.macs, "mflops": mflops(t), "params": t.params, "cio": t.cio_conv_pool}


class Evaluator:
    """Scores one trial: analytic costs, then latency, then accuracy, each only when needed."""

    def __init__(self, spec: SearchSpec, num_classes: int, in_channels: int) -> None:
        self.spec = spec
        self.family: Family = family(spec.family)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.data: Dataset | None = None
        if spec.trains:
            from search.data import load_dataset

            self.data = load_dataset(spec.data, spec.input_size)

    def values(self, attrs: dict[str, Any]) -> list[float]:
        table = {
            "accuracy": attrs.get("accuracy", 0.0),
            "macs": attrs["macs"],
            "params": attrs["params"],
            "cio": attrs["cio"],
            "latency": attrs.get("latency_ms", math.inf),
        }
        return [float(table[o]) for o in self.spec.objectives]

    def __call__(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        attrs: dict[str, Any],
        history: Sequence[FrozenTrial] | None = None,
    ) -> list[float]:
        """Score ``trial``; everything measured lands in ``attrs`` (written once by the caller).
        ``history``: the study's trials, when the caller has just read them."""
        design = suggest(trial, self.family, self.spec.multipliers)
        attrs["design"] = design.label
        if history is None:
            history = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        previous = _same_design(history, trial)
        if previous is not None:
            for key, value in previous.constraints.items():
                trial.set_constraint(key, value)
            attrs.update(
                {k: v for k, v in result_of(previous).items() if k != "worker"}, duplicate_of=previous.number
            )
            return list(previous.values)
        config = self.family.config(design, self.num_classes, self.in_channels)
        network, costs = design_costs(config, self.spec.input_size)
        attrs.update(costs)
        budgets = self.spec.budgets()
        over = [k for k in ("mflops", "params", "cio") if k in budgets and attrs[k] > budgets[k]]
        for key in ("mflops", "params", "cio"):
            if key in budgets:
                trial.set_constraint(key, attrs[key] - budgets[key])
        if over:
            attrs["skipped"] = f"over the {', '.join(over)} budget"
            return self.values(attrs)
        import torch

        from costmodel.torch_build import build

        torch.manual_seed(self.spec.seed)  # initial weights depend on the design, not on history
        model = build(network)
        if self.spec.times:
            from search.latency import measure_latency

            shape = (self.in_channels, self.spec.input_size, self.spec.input_size)
            worst = 0.0
            for device in self.spec.devices:
                lat = measure_latency(model, shape, device, self.spec.latency_batch)
                attrs[f"latency_{device}"] = lat.as_dict()
                worst = max(worst, lat.median_ms)
            model.to("cpu")
            first = attrs[f"latency_{self.spec.devices[0]}"]
            attrs["latency_ms"], attrs["latency_iqr_ms"] = first["median_ms"], first["iqr_ms"]
            if "latency_ms" in budgets:
                trial.set_constraint("latency_ms", worst - budgets["latency_ms"])
                if worst > budgets["latency_ms"]:
                    attrs["skipped"] = "over the latency budget"
                    return self.values(attrs)
        if self.data is not None:  # loaded when accuracy is an objective (spec.trains)
            from search.train import TrainSettings, train_and_score

            result = train_and_score(
                model, self.data, TrainSettings(epochs=self.spec.epochs, seed=self.spec.seed)
            )
            # CPU kernels reduce in a thread-dependent order: record the count with the result.
            attrs.update(
                accuracy=result.accuracy,
                train_loss=result.loss,
                train_seconds=result.seconds,
                holdout_images=result.holdout_images,
                train_threads=torch.get_num_threads(),
            )
        return self.values(attrs)


def _same_design(history: Sequence[FrozenTrial], trial: optuna.Trial) -> FrozenTrial | None:
    params = trial.params
    for t in history:
        if t.state == TrialState.COMPLETE and t.params == params and t.number != trial.number:
            return t
    return None
