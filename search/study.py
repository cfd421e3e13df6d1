"""The search: an Optuna study over a CSP family's γ, growth rate and fusion strategy, under a
budget.

The CSPNet paper (Wang et al., CVPRW 2020) picks γ = 0.5 and the ``csp`` fusion by ablation (Table 1
and Figure 3). This module runs that ablation as a search, with the user's objectives and budget.
Inside a trial the order is fixed so that money is spent last:

1. analytic costs (``costmodel.analyze(expand(config, size))``, microseconds): a design over a
   MFLOPs, params or CIO budget is recorded as infeasible and never built, timed or trained;
2. measured latency on each target device (only when latency is an objective or has a budget): a
   design over the latency budget is never trained;
3. a short seeded training run (only when accuracy is an objective).

Budgets are Optuna ≥ 5 constraints (``trial.set_constraint``: value − budget, feasible when ≤ 0).
Workers claim trials under a lock (``search.storage``), so a study ends with exactly the requested
number of finished trials, and a killed worker's trial is retried. A design already evaluated in the
study is never evaluated again: its trial reuses the stored result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import optuna
from optuna.storages import RDBStorage

from costmodel import SpecError, analyze, expand
from search.evaluate import design_costs
from search.front import pareto_trials
from search.space import Design, Family, family
from search.spec import SPEC_ATTR, SearchResult, SearchSpec, Snapshot
from search.storage import (
    HEARTBEAT_S,
    check_exists,
    check_study_name,
    masked,
    normalize_url,
    open_storage,
)
from search.workers import _quiet, _run_workers, run_worker, snapshot

__all__ = ["load_result", "prepare_study", "run_search"]


# --- the study ------------------------------------------------------------------------------------


def _check_budget_reachable(spec: SearchSpec, fam: Family, num_classes: int, in_channels: int) -> None:
    """Refuse, before any study exists, an analytic budget that no design of the space meets."""
    budgets = {k: v for k, v in spec.budgets().items() if k != "latency_ms"}
    if not budgets:
        return
    cheapest: dict[str, tuple[float, str]] = {}
    for design in fam.designs(spec.multipliers):
        try:
            costs = design_costs(fam.config(design, num_classes, in_channels), spec.input_size)[1]
        except SpecError:
            continue
        if all(costs[k] <= v for k, v in budgets.items()):
            return
        for k in budgets:
            if k not in cheapest or costs[k] < cheapest[k][0]:
                cheapest[k] = (costs[k], design.label)
    parts = [
        f"the smallest {k} is {cheapest[k][0]:,.4g} ({cheapest[k][1]}) against {v:,.4g}"
        for k, v in budgets.items()
        if k in cheapest
    ]
    raise SpecError(
        f"no {spec.family} design at {spec.input_size} px meets the budget: {'; '.join(parts)}; "
        f"raise the budget{'' if spec.multipliers else ' or add --multipliers'}"
    )


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


def _memory_check(spec: SearchSpec, fam: Family, num_classes: int, in_channels: int) -> None:
    """Refuse, before allocating, a size that training or timing the base design cannot fit in
    memory: activations of a training batch (kept for the backward pass, and their gradients) or
    of one latency batch."""
    if not (spec.trains or spec.times):
        return
    from search.data import check_memory

    config = fam.config(Design("none", 0.0, fam.base.growth_rate), num_classes, in_channels)
    elements = analyze(expand(config, spec.input_size)).totals.write_elements
    need = elements * 4 * (2 * TRAIN_BATCH if spec.trains else spec.latency_batch)
    what = "training" if spec.trains else "timing"
    check_memory(
        need,
        f"{what} a {spec.family} at {spec.input_size}×{spec.input_size} px",
        "choose a smaller --input",
    )


TRAIN_BATCH = 64
"""``search.train.TrainSettings.batch_size``, without importing torch to read it."""


def _data_shape(spec: SearchSpec) -> tuple[int, int, str]:
    """``(num_classes, in_channels, fingerprint)`` of the study's data. Only a search that trains
    loads the images (at its size); a cost-only one needs just the classes and channels."""
    from search.data import BUILTIN, load_dataset

    if spec.trains:
        data = load_dataset(spec.data, spec.input_size)
        return data.num_classes, data.in_channels, data.fingerprint()
    if spec.data in BUILTIN:
        return 10, 1, spec.data  # mnist and digits: ten grey classes
    data = load_dataset(spec.data, 1)  # a user's data at 1×1 px: classes and channels, little memory
    return data.num_classes, data.in_channels, f"{data.num_classes} classes, {data.in_channels} channels"


def prepare_study(
    given: dict[str, Any],
    storage: str | None = None,
    study_name: str = "cspcost",
    resume: bool = False,
    heartbeat_interval: int = HEARTBEAT_S,
) -> tuple[str, SearchSpec]:
    """Check everything, then create the study (or check the one to resume); ``(url, spec)``.

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
    fam = family(spec.family)
    design_costs(fam.config(Design("none", 0.0, fam.base.growth_rate), 10, 1), spec.input_size)
    _memory_check(spec, fam, 10, 1)  # before any data is resized to the input size
    if spec.times or any(d != "cpu" for d in spec.devices):
        from search.latency import check_devices  # imports torch: after the instant checks

        check_devices(spec.devices)
    num_classes, in_channels, fingerprint = _data_shape(spec)
    _check_budget_reachable(spec, fam, num_classes, in_channels)
    if resume:
        study = optuna.load_study(study_name=study_name, storage=rdb)
        if study.user_attrs.get("data_fingerprint") != fingerprint:
            raise SpecError(
                f"the data {spec.data!r} changed since study {study_name!r} started; resume with "
                f"the same data, or start a new --study"
            )
        return url, spec
    rdb = open_storage(url, heartbeat_interval)
    spec = _spec_for(rdb, url, study_name, given, resume)
    study = optuna.create_study(study_name=study_name, storage=rdb, directions=spec.directions)
    for key, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("data_fingerprint", fingerprint),
        (SPEC_ATTR, spec.to_attrs()),
    ):
        study.set_user_attr(key, value)
    return url, spec


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
    url, spec = prepare_study(given, storage, study_name, resume, heartbeat_interval)
    if progress is not None:
        rdb = open_storage(url, heartbeat_interval)
        progress(snapshot(rdb.get_all_trials(rdb.get_study_id_from_name(study_name)), spec, trials))
    exits: tuple[int, ...] = ()
    if workers == 1:
        run_worker(url, study_name, trials, 0, heartbeat_interval, progress=progress)
    else:
        exits = _run_workers(url, study_name, trials, workers, heartbeat_interval, spec, progress)
    return replace(load_result(study_name, url), requested=trials, worker_exits=exits)


def load_result(study_name: str, storage: str | None = None) -> SearchResult:
    """A stored study's trials and Pareto front, for reports; reads only."""
    url = normalize_url(storage)
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
    return SearchResult(study_name, masked(url), spec, len(done), done, pareto_trials(done, spec))
