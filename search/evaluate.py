"""One trial, cheapest first: analytic costs (an over-budget design is never built), then latency,
then a short seeded training run (CSPNet paper, Wang et al., CVPRW 2020)."""

from __future__ import annotations

from typing import Any

import optuna

from costmodel import expand
from search.data import Dataset
from search.results import WEIGHTS_ATTR
from search.space import Space, design_costs, suggest
from search.spec import SearchSpec

__all__ = ["Evaluator"]


class Evaluator:
    """Scores one trial: analytic costs and latency of the deployed network at ``--input``, then
    accuracy of the same topology trained at the proxy input, each only when needed."""

    def __init__(
        self, spec: SearchSpec, num_classes: int, in_channels: int, artifacts: str | None = None
    ) -> None:
        self.spec = spec
        self.artifacts = artifacts
        self.space: Space = spec.space
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.data: Dataset | None = None
        if spec.trains:
            from search.data import load_dataset

            self.data = load_dataset(spec.data, spec.proxy)

    def values(self, attrs: dict[str, Any]) -> list[float]:
        table = {
            "accuracy": attrs.get("accuracy"),
            "macs": attrs["macs"],
            "params": attrs["params"],
            "cio": attrs["cio"],
            "latency": attrs.get("latency_ms"),
        }
        return [float(table[o]) for o in self.spec.objectives]  # type: ignore[arg-type]

    def __call__(self, trial: optuna.Trial, attrs: dict[str, Any]) -> list[float] | None:
        """Score ``trial``; everything measured lands in ``attrs`` (written by the caller). ``None``
        when a measured budget rules the design out: the trial is then pruned, not completed with a
        made-up value."""
        design = suggest(trial, self.space)
        attrs["design"] = design.label
        base = self.space.base
        deployed = base.deployed(design)
        network = expand(deployed, self.spec.deploy_input)
        costs = design_costs(deployed, self.spec.deploy_input)
        attrs.update(costs, input=self.spec.deploy_input, proxy_input=self.spec.proxy)
        budgets = self.spec.budgets()
        for key in ("mflops", "params", "cio"):
            if key in budgets:
                trial.set_constraint(key, attrs[key] - budgets[key])
        import torch

        from costmodel.torch_build import build

        if self.spec.times:
            from search.latency import measure_latency

            torch.manual_seed(self.spec.seed)
            model = build(network)
            shape = (base.config.in_channels, self.spec.deploy_input, self.spec.deploy_input)
            worst = 0.0
            for device in self.spec.devices:
                lat = measure_latency(model, shape, device, self.spec.latency_batch)
                attrs[f"latency_{device}"] = lat.as_dict()
                worst = max(worst, lat.median_ms)
            first = attrs[f"latency_{self.spec.devices[0]}"]
            attrs["latency_ms"], attrs["latency_iqr_ms"] = first["median_ms"], first["iqr_ms"]
            if "latency_ms" in budgets:
                trial.set_constraint("latency_ms", worst - budgets["latency_ms"])
                if worst > budgets["latency_ms"]:
                    attrs["skipped"] = "over the latency budget"
                    return None
        if self.data is not None:  # loaded when accuracy is an objective (spec.trains)
            from search.train import TrainSettings, train_and_score

            proxy = base.config_of(design, self.num_classes, self.in_channels)
            torch.manual_seed(self.spec.seed)  # initial weights depend on the design, not on history
            model = build(expand(proxy, self.spec.proxy))
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
            if self.artifacts is not None:
                attrs[WEIGHTS_ATTR] = _upload_weights(model, trial, self.artifacts)
        return self.values(attrs)


def _upload_weights(model: Any, trial: optuna.Trial, folder: str) -> str:
    """The proxy-trained ``state_dict`` as an Optuna artifact of ``trial``; its id."""
    import tempfile

    import torch
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    store = FileSystemArtifactStore(folder)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/proxy-weights.pt"
        torch.save(model.state_dict(), path)
        return upload_artifact(artifact_store=store, file_path=path, study_or_trial=trial)
