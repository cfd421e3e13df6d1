"""The search: the knobs of a base network the user names (γ, fusion, growth rate, depth and
width multipliers), under a budget, for the user's objectives.

The CSPNet paper (Wang et al., CVPRW 2020) picks γ = 0.5 and the ``csp`` fusion by ablation (Table 1
and Figure 3). This module runs that ablation as a search. The space is enumerated first
(``search.space``), with the analytic costs of every design as deployed at ``--input``; designs over
a MFLOPs, params or CIO budget are removed before anything is sampled, so they never become trials.

- When no objective needs a measurement, the answer is the exact Pareto front of the enumeration: no
  sampler, no study.
- Otherwise an Optuna study measures feasible designs not yet measured (``search.workers``), each
  at most once: latency of the deployed network at ``--input``, then accuracy of the same topology
  trained at the proxy input (``--proxy-input``). A design over the latency budget is pruned, never
  recorded as complete with a made-up value.

Budgets are Optuna ≥ 5 constraints (``trial.set_constraint``: value − budget, feasible when ≤ 0).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage

from costmodel import SpecError, analyze, expand
from search.exact import check_budget_reachable as _check_budget_reachable
from search.exact import exact_front, space_note
from search.front import pareto_trials
from search.results import ARTIFACTS_ATTR
from search.spec import METRIC_NAMES, SPEC_ATTR, SearchResult, SearchSpec, Snapshot
from search.storage import (
    HEARTBEAT_S,
    check_exists,
    check_study_name,
    masked,
    normalize_url,
    open_storage,
)
from search.workers import Job, _quiet, feasible_points, run_worker, run_workers, snapshot

__all__ = ["exact_front", "load_result", "prepare_study", "run_search", "space_note"]


# --- the study ------------------------------------------------------------------------------------


def _spec_for(storage: RDBStorage, url: str, name: str, given: dict[str, Any], resume: bool) -> SearchSpec:
    """The spec a run will use; refuses a name clash or a resume that changes settings (reads
    only)."""
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    names = {s.study_name for s in summaries}
    if not resume:
        if name in names:
            raise SpecError(
                f"study {name!r} already exists in {masked(url)}; pass --resume to continue it, "
                f"or --study with a new name"
            )
        return SearchSpec(**given)
    if name not in names:
        raise SpecError(
            f"there is no study {name!r} in {masked(url)} to resume"
            + (f"; it holds {', '.join(sorted(names))}" if names else "")
            + "; drop --resume to start it"
        )
    stored = SearchSpec.from_attrs(optuna.load_study(study_name=name, storage=storage).user_attrs[SPEC_ATTR])
    clash = [
        f"{k}={given[k]!r} (stored {getattr(stored, k)!r})" for k in given if given[k] != getattr(stored, k)
    ]
    if clash:
        raise SpecError(
            f"study {name!r} was started with other settings: {', '.join(clash)}; resume "
            f"without those options, or start a new --study"
        )
    return stored


def _memory_check(spec: SearchSpec) -> None:
    """Refuse, before allocating, a size this machine cannot hold: the deployed network at
    ``--input`` is run for real to export the front to ONNX (and to time it, one latency batch), and
    training keeps a batch's activations and their gradients at ``--proxy-input``. The costs
    themselves are arithmetic and answer for any size."""
    from search.data import check_memory

    checks = [
        (
            spec.deploy_input,
            spec.latency_batch if spec.times else 1,
            "exporting and timing" if spec.times else "exporting the front of",
            "choose a smaller --input",
        )
    ]
    if spec.trains:
        checks.append((spec.proxy, 2 * TRAIN_BATCH, "training", "choose a smaller --proxy-input"))
    for size, batch, what, fix in checks:
        elements = analyze(expand(spec.space.base.config, size)).totals.write_elements
        check_memory(elements * 4 * batch, f"{what} a {spec.base} at {size}×{size} px", fix)


TRAIN_BATCH = 64
"""``search.train.TrainSettings.batch_size``, without importing torch to read it."""


def _data_shape(spec: SearchSpec) -> tuple[int, int, str]:
    """``(num_classes, in_channels, fingerprint)`` of the study's data. Only a search that trains
    loads the images (at its size); a cost-only one needs just the classes and channels."""
    from search.data import BUILTIN, load_dataset

    if spec.trains:
        data = load_dataset(spec.data, spec.proxy)
        return data.num_classes, data.in_channels, data.fingerprint()
    if spec.data in BUILTIN:
        return 10, 1, spec.data  # mnist and digits: ten grey classes
    data = load_dataset(spec.data, 1)  # a user's data at 1×1 px: classes and channels, little memory
    return data.num_classes, data.in_channels, f"{data.num_classes} classes, {data.in_channels} channels"


@dataclass(frozen=True)
class Prepared:
    """A study ready to run: its URL, its spec, and the storage opened once for this process."""

    url: str
    spec: SearchSpec
    storage: RDBStorage


def prepare_study(
    given: dict[str, Any],
    storage: str | None = None,
    study_name: str = "cspcost",
    resume: bool = False,
    heartbeat_interval: int = HEARTBEAT_S,
) -> Prepared:
    """Check everything, then create the study (or check the one to resume).

    ``given`` holds the ``SearchSpec`` fields the user set; on ``resume`` they must match the stored
    ones and the rest come from the study. All checks run before the study is created or changed,
    and a new study's checks before the storage is even opened, so bad input leaves no database
    file behind and an existing study untouched.
    """
    _quiet()
    check_study_name(study_name)
    url = normalize_url(storage)
    spec = SearchSpec(**given)  # bad options fail before any storage is opened
    if resume:
        check_exists(url)
        rdb = open_storage(url, heartbeat_interval)
        spec = _spec_for(rdb, url, study_name, given, resume)
    points = spec.space.points(spec.deploy_input)  # an input too small for the base fails here
    _check_budget_reachable(spec, points)
    _memory_check(spec)  # before any data is resized to the input size
    if spec.times or any(d != "cpu" for d in spec.devices):
        from search.latency import check_devices  # imports torch: after the instant checks

        check_devices(spec.devices)
    num_classes, in_channels, fingerprint = _data_shape(spec)
    if resume:
        study = optuna.load_study(study_name=study_name, storage=rdb)
        if study.user_attrs.get("data_fingerprint") != fingerprint:
            raise SpecError(
                f"the data {spec.data!r} changed since study {study_name!r} started; resume with "
                f"the same data, or start a new --study"
            )
        return Prepared(url, spec, rdb)
    rdb = open_storage(url, heartbeat_interval)
    spec = _spec_for(rdb, url, study_name, given, resume)
    study = optuna.create_study(study_name=study_name, storage=rdb, directions=spec.directions)
    # proxy-trained weights beside the study: an SQLite file's folder, or the current one
    where = Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///") else Path()
    artifacts = str((where / f"{study_name}-artifacts").resolve()) if spec.trains else None
    if artifacts is not None:
        Path(artifacts).mkdir(parents=True, exist_ok=True)  # Optuna's file store expects it
    study.set_metric_names([METRIC_NAMES[o] for o in spec.objectives])
    for key, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("data_fingerprint", fingerprint),
        (SPEC_ATTR, spec.to_attrs()),
        (ARTIFACTS_ATTR, artifacts),
    ):
        study.set_user_attr(key, value)
    return Prepared(url, spec, rdb)


def run_search(
    given: dict[str, Any],
    trials: int = 20,
    storage: str | None = None,
    study_name: str = "cspcost",
    workers: int = 1,
    resume: bool = False,
    progress: Callable[[Snapshot], None] | None = None,
    heartbeat_interval: int = HEARTBEAT_S,
) -> SearchResult:
    """Run (or resume) a study until it holds ``trials`` finished trials (see ``prepare_study``)."""
    if trials < 1:
        raise SpecError(f"--trials {trials} must be at least 1")
    if workers < 1:
        raise SpecError(f"--workers {workers} must be at least 1")
    check_study_name(study_name)
    normalize_url(storage)
    spec = SearchSpec(**given)
    if not (spec.trains or spec.times) and not resume:
        _memory_check(spec)  # the front is exported to ONNX at --input, for real
        return exact_front(spec, study_name)
    started = time.perf_counter()
    run = prepare_study(given, storage, study_name, resume, heartbeat_interval)
    spec, rdb = run.spec, run.storage
    if progress is not None:
        progress(snapshot(rdb.get_all_trials(rdb.get_study_id_from_name(study_name)), spec, trials))
    exits: tuple[int, ...] = ()
    job = Job(run.url, study_name, trials, heartbeat_interval)
    if workers == 1:
        run_worker(job, progress=progress, storage=rdb)
    else:
        exits = run_workers(job, workers, spec, rdb, progress)
    result = load_result(study_name, run.url, rdb)
    if spec.trains and result.pareto:
        from search.final import store_test_accuracy

        store_test_accuracy(result, rdb)
        result = load_result(study_name, run.url, rdb)
    return replace(
        result,
        requested=trials,
        worker_exits=exits,
        notes=[
            *result.notes,
            space_note(spec, spec.space.points(spec.deploy_input), feasible_points(spec)),
            f"measured study: {time.perf_counter() - started:.1f} s wall time",
        ],
    )


def load_result(study_name: str, storage: str | None = None, rdb: RDBStorage | None = None) -> SearchResult:
    """A stored study's trials and Pareto front, for reports; reads only. ``rdb``: the storage,
    when the caller has it open."""
    url = normalize_url(storage)
    if rdb is None:
        check_exists(url)  # opening a missing SQLite file would create it
        rdb = open_storage(url)
    try:
        study = optuna.load_study(study_name=study_name, storage=rdb)
    except KeyError:
        raise SpecError(
            f"there is no study {study_name!r} in {masked(url)}; check --study and --storage"
        ) from None
    if SPEC_ATTR not in study.user_attrs:
        raise SpecError(f"study {study_name!r} in {masked(url)} was not made by cspcost search")
    spec = SearchSpec.from_attrs(study.user_attrs[SPEC_ATTR])
    done = study.get_trials()
    front = pareto_trials(done, spec)
    artifacts = study.user_attrs.get(ARTIFACTS_ATTR)
    from search.final import TEST_ATTR, rank_correlations

    tested = {int(k): v for k, v in study.user_attrs.get(TEST_ATTR, {}).items()}
    return SearchResult(
        study_name,
        masked(url),
        spec,
        len(done),
        done,
        front,
        artifacts=artifacts,
        test_accuracy=tested,
        correlations=rank_correlations(done),
    )
