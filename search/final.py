"""What a finished measured study adds about its answer: the test-split accuracy of the final front
(and of nothing else), and how well the analytic costs rank the measured latency.

The test split (``search.train.split_data``) is never used to pick designs: the validation split
does that, during the run. Once the front is known, each of its designs is scored on the test
split with the weights its trainings ended with (every seed, kept as an Optuna artifact), and the
mean and 95% interval are stored as a study attribute, so a report shows them beside the
validation accuracies that chose the design.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial

from search.results import WEIGHTS_ATTR, result_of
from search.spec import SearchResult

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = ["TEST_ATTR", "rank_correlations", "store_test_accuracy", "test_accuracy"]

TEST_ATTR = "cspcost.test_accuracy"
"""Study user attribute: front trial number → its test-split accuracy (mean, ci95, per seed)."""


def test_accuracy(result: SearchResult, trials: Sequence[FrozenTrial]) -> dict[int, dict[str, Any]]:
    """Test-split accuracy of each trial in ``trials`` (the front), from its stored weights."""
    import io

    import torch
    from optuna.artifacts import FileSystemArtifactStore

    from costmodel import expand
    from costmodel.torch_build import build
    from search.data import load_dataset
    from search.designs import design_of
    from search.train import Trainer, TrainSettings, prepare, split_data, t_interval

    spec = result.spec
    if result.artifacts is None:
        return {}
    store = FileSystemArtifactStore(result.artifacts)
    data = load_dataset(spec.data, spec.proxy)
    split = split_data(data.y)
    prepared = prepare(data, split)
    out: dict[int, dict[str, Any]] = {}
    for t in trials:
        artifact = result_of(t).get(WEIGHTS_ATTR)
        if not artifact:
            continue
        with store.open_reader(artifact) as fh:
            saved = torch.load(io.BytesIO(fh.read()), weights_only=True)
        config = spec.space.base.config_of(design_of(t), data.num_classes, data.in_channels)
        network = expand(config, spec.proxy)
        scores = []
        for seed, state in zip(saved["seeds"], saved["state_dicts"], strict=True):
            model = build(network)
            model.load_state_dict(state)
            scores.append(
                Trainer(model, data, split, TrainSettings(seed=seed), prepared).accuracy(split.test)
            )
        interval = t_interval(scores)
        out[t.number] = {
            "mean": interval.mean,
            "ci95": None if interval.half_width != interval.half_width else interval.half_width,
            "seeds": scores,
            "test_images": len(split.test),
        }
    return out


def store_test_accuracy(result: SearchResult, storage: RDBStorage) -> None:
    """Score the front designs not scored yet on the test split; store them with the study."""
    study = optuna.load_study(study_name=result.study_name, storage=storage)
    stored = dict(study.user_attrs.get(TEST_ATTR, {}))
    todo = [t for t in result.pareto if str(t.number) not in stored]
    if not todo:
        return
    stored.update((str(n), v) for n, v in test_accuracy(result, todo).items())
    study.set_user_attr(TEST_ATTR, stored)


def rank_correlations(trials: Sequence[FrozenTrial]) -> dict[str, float]:
    """Spearman ρ of the measured latency (as deployed, and eager torch) against MACs and against
    CIO, over the designs timed (one trial each); empty when fewer than three were timed."""
    rows: dict[str, dict[str, Any]] = {}
    for t in trials:
        a = result_of(t)
        if "latency_ms" in a and "duplicate_of" not in a:
            rows.setdefault(a.get("design", str(t.number)), a)
    if len(rows) < 3:
        return {}
    from search.latency import spearman

    first = next(iter(rows.values()))
    runtime = first.get("latency_runtime", "torch")
    out: dict[str, float] = {"designs": float(len(rows))}
    for cost in ("macs", "cio"):
        xs = [float(a[cost]) for a in rows.values()]
        out[f"{runtime} vs {cost}"] = spearman([float(a["latency_ms"]) for a in rows.values()], xs)
        if runtime != "torch" and all("eager_torch_ms" in a for a in rows.values()):
            out[f"eager torch vs {cost}"] = spearman([float(a["eager_torch_ms"]) for a in rows.values()], xs)
    return out
