"""One trial, cheapest first: analytic costs (an over-budget design is never built), then latency as
deployed, then short seeded trainings with successive halving (CSPNet paper, Wang et al., CVPRW
2020, compares designs the same way at ImageNet scale).

Everything a trial measures is one scalar user attribute (``trials_dataframe()`` has a column
each). They are written in batches, one transaction each (``search.storage.AttrWriter``): at each
halving rung, which the other workers compare against, after the first timed epoch, which the
progress estimate reads, and when the trial ends, so a pruned or failed trial keeps what it reached:

- costs of the deployed network at ``--input``: ``macs``, ``mflops`` (2·MACs/1e6), ``params``,
  ``cio`` (conv and pool layers), ``input``, ``proxy_input``;
- latency: ``latency_ms`` and ``latency_iqr_ms`` (ONNX Runtime where it runs on the device, else
  eager torch: ``latency_runtime``), ``latency_threads``, ``latency_batch``, ``latency_noisy``, and
  eager torch beside it (``eager_torch_ms``); one dict per device as ``latency_<device>``;
- accuracy on the validation split, per seed (``accuracy_seeds``), their mean (``accuracy``) and
  95% Student-t half-width (``accuracy_ci95``); at each halving rung ``rung<E>_accuracy`` and
  ``rung<E>_ci95``; ``epochs``, ``train_seconds``, ``seconds_per_epoch``, ``train_threads``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from costmodel import expand
from search.data import Dataset
from search.front import Scored
from search.results import WEIGHTS_ATTR
from search.space import Space, design_costs, suggest
from search.spec import KEEP, OBJECTIVES, SearchSpec
from search.storage import each_key

__all__ = ["Evaluator", "Writer", "rung_key"]

Writer = Callable[[optuna.Trial, Mapping[str, Any]], None]
"""Writes a batch of user attributes to a running trial."""


def rung_key(epochs: int) -> str:
    return f"rung{epochs}_accuracy"


class Evaluator:
    """Scores one trial: analytic costs and latency of the deployed network at ``--input``, then
    accuracy of the same topology trained at the proxy input, each only when needed."""

    def __init__(
        self,
        spec: SearchSpec,
        num_classes: int,
        in_channels: int,
        artifacts: str | None = None,
        write: Writer = each_key,
    ) -> None:
        self.spec = spec
        self.write = write
        self.artifacts = artifacts
        self.space: Space = spec.space
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.data: Dataset | None = None
        self.first_epoch: Callable[[], None] | None = None
        """Called once the run's first epoch has been timed (the progress bar's estimate)."""
        if spec.trains:
            from search.data import load_dataset
            from search.train import prepare, split_data

            self.data = load_dataset(spec.data, spec.proxy)
            self.split = split_data(self.data.y)
            self.prepared = prepare(self.data, self.split)

    def values(self, attrs: dict[str, Any]) -> list[float]:
        table = {
            "accuracy": attrs.get("accuracy"),
            "macs": attrs["macs"],
            "params": attrs["params"],
            "cio": attrs["cio"],
            "latency": attrs.get("latency_ms"),
        }
        return [float(table[o]) for o in self.spec.objectives]  # type: ignore[arg-type]

    def __call__(
        self,
        trial: optuna.Trial,
        check: Callable[[optuna.Trial], None] | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> list[float]:
        """Score ``trial``, writing its measurements (and the ``given`` attributes) to it; ``check``
        runs once the design is chosen, before anything is measured. Raises ``TrialPruned`` when a
        measured budget rules the design out or halving stops it: the trial is then pruned with
        what it reached, never completed with a made-up value."""
        note = _Notes(trial, self.write, given or {})
        try:
            return self._score(trial, check, note)
        finally:
            note.flush()

    def _score(
        self,
        trial: optuna.Trial,
        check: Callable[[optuna.Trial], None] | None,
        note: _Notes,
    ) -> list[float]:
        attrs = note.attrs
        design = suggest(trial, self.space)
        note(design=design.label)
        if check is not None:
            check(trial)
        base = self.space.base
        deployed = base.deployed(design)
        network = expand(deployed, self.spec.deploy_input)
        note(**design_costs(deployed, self.spec.deploy_input))
        note(input=self.spec.deploy_input, proxy_input=self.spec.proxy if self.spec.trains else None)
        budgets = self.spec.budgets()
        for key in ("mflops", "params", "cio"):
            if key in budgets:
                trial.set_constraint(key, attrs[key] - budgets[key])
        if self.spec.times:
            worst = self._latency(network, note)
            if "latency_ms" in budgets:
                trial.set_constraint("latency_ms", worst - budgets["latency_ms"])
                if worst > budgets["latency_ms"]:
                    note(skipped="over the latency budget")
                    raise optuna.TrialPruned("over the latency budget")
        if self.data is not None:  # loaded when accuracy is an objective (spec.trains)
            self._train(trial, design, note)
        return self.values(attrs)

    def _latency(self, network: Any, note: _Notes) -> float:
        """Time the deployed network on every device: ONNX Runtime where it runs there (the
        objective), eager torch beside it. Returns the worst median, for the latency budget."""
        from search.latency import check_runtime, time_network

        model = seeded_build(network, self.spec.seed)
        threads = self.spec.latency_threads
        batch = self.spec.latency_batch
        worst = 0.0
        for i, device in enumerate(self.spec.devices):
            try:
                check_runtime("ort", device)
                runtime = "ort"
            except Exception:
                runtime = "torch"
            lat = time_network(network, runtime, device, batch, threads, model)
            eager = (
                lat if runtime == "torch" else time_network(network, "torch", device, batch, threads, model)
            )
            note(**{f"latency_{device}": lat.as_dict(), f"eager_torch_{device}": eager.as_dict()})
            if i == 0:
                note(
                    latency_ms=lat.median_ms,
                    latency_iqr_ms=lat.iqr_ms,
                    latency_runtime=runtime,
                    latency_threads=threads,
                    latency_batch=batch,
                    latency_noisy=lat.noisy,
                    eager_torch_ms=eager.median_ms,
                    eager_torch_iqr_ms=eager.iqr_ms,
                )
            worst = max(worst, lat.median_ms)
        return worst

    def _train(self, trial: optuna.Trial, design: Any, note: _Notes) -> None:
        """Every seed trained rung by rung; after each rung but the last, halving decides whether
        the design goes on (``search.halving``)."""
        attrs = note.attrs
        import torch

        from search.halving import goes_on
        from search.train import Trainer, TrainSettings, t_interval

        assert self.data is not None
        proxy = self.space.base.config_of(design, self.num_classes, self.in_channels)
        network = expand(proxy, self.spec.proxy)
        trainers = []
        for seed in self.spec.seed_list:
            settings = TrainSettings(seed=seed)
            trainers.append(
                Trainer(seeded_build(network, seed), self.data, self.split, settings, self.prepared)
            )
        note(seeds=list(self.spec.seed_list), validation_images=len(self.split.validation))
        note(train_threads=torch.get_num_threads())
        rungs = self.spec.rungs
        for r, epochs in enumerate(rungs):
            for tr in trainers:
                tr.advance(epochs)
                if "seconds_per_epoch" not in attrs:  # the first training: the run's estimate
                    note(seconds_per_epoch=tr.seconds / tr.epochs)
                    if self.first_epoch is not None:  # it reads the stored seconds per epoch
                        note.flush()
                        self.first_epoch()
                        self.first_epoch = None
            scores = [tr.accuracy(self.split.validation) for tr in trainers]
            interval = t_interval(scores)
            ci = None if math.isnan(interval.half_width) else interval.half_width
            reached = {
                "accuracy": interval.mean,
                "accuracy_ci95": ci,
                "accuracy_seeds": scores,
                "epochs": epochs,
                "train_seconds": sum(tr.seconds for tr in trainers),
                "train_loss": sum(tr.loss for tr in trainers) / len(trainers),
            }
            attrs.update(reached)  # written once the design stops or finishes: one write per key
            if len(rungs) > 1:  # what the other designs compare against at this rung, now
                note(**{rung_key(epochs): interval.mean, f"rung{epochs}_ci95": ci})
            if r < len(rungs) - 1:
                note.flush()  # the others compare against this rung from now on
            if r < len(rungs) - 1 and not self._goes_on(trial, attrs, epochs, goes_on):
                note(
                    **reached, halted=f"stopped by halving at rung {r + 1} of {len(rungs)} ({epochs} epochs)"
                )
                raise optuna.TrialPruned(attrs["halted"])
        note(**reached)
        if self.artifacts is not None:
            note(**{WEIGHTS_ATTR: _upload_weights(trainers, trial, self.artifacts)})

    def _goes_on(self, trial: optuna.Trial, attrs: dict[str, Any], epochs: int, rule: Any) -> bool:
        """This design against the others that reached the same rung, at that rung."""
        key = rung_key(epochs)
        others = []
        for t in trial.study.get_trials(deepcopy=False):
            if t.number != trial.number and key in t.user_attrs:
                others.append(self._scored({**t.user_attrs, "accuracy": t.user_attrs[key]}, epochs))
        return bool(rule(self._scored(attrs, epochs), others, KEEP))

    def _scored(self, attrs: dict[str, Any], epochs: int) -> Scored:
        ci = attrs.get(f"rung{epochs}_ci95")
        keys, half = [], []
        for name, value in zip(self.spec.objectives, self.values(attrs), strict=True):
            keys.append(-value if OBJECTIVES[name] == "maximize" else value)
            half.append(float(ci) if name == "accuracy" and ci is not None else math.nan)
        return Scored(tuple(keys), tuple(half))


class _Notes:
    """A trial's measurements: all of them kept here (``attrs``), the ones not yet stored written
    to the trial as one batch at each ``flush``."""

    def __init__(self, trial: optuna.Trial, write: Writer, given: Mapping[str, Any]) -> None:
        self.trial, self.write = trial, write
        self.attrs: dict[str, Any] = {}
        self.pending: dict[str, Any] = dict(given)

    def __call__(self, **values: Any) -> None:
        self.attrs.update(values)
        self.pending.update(values)

    def flush(self) -> None:
        if self.pending:
            self.write(self.trial, self.pending)
            self.pending.clear()


def seeded_build(network: Any, seed: int) -> Any:
    """The torch model of ``network`` with initial weights that depend on the design and ``seed``
    alone, never on what ran before in the process."""
    import torch

    from costmodel.torch_build import build

    torch.manual_seed(seed)
    return build(network)


def _upload_weights(trainers: list[Any], trial: optuna.Trial, folder: str) -> str:
    """The proxy-trained ``state_dict`` of every seed, as one Optuna artifact of ``trial``
    (``{"seeds": [...], "state_dicts": [...]}``); its id."""
    import tempfile

    import torch
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    buf = io.BytesIO()
    seeds = [tr.settings.seed for tr in trainers]
    torch.save({"seeds": seeds, "state_dicts": [tr.model.state_dict() for tr in trainers]}, buf)
    store = FileSystemArtifactStore(folder)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/proxy-weights.pt"
        with open(path, "wb") as fh:
            fh.write(buf.getvalue())
        return upload_artifact(artifact_store=store, file_path=path, study_or_trial=trial)
