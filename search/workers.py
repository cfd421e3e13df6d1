"""Workers: processes that claim trials of a study until it holds the target number, and the
progress snapshot they report."""

from __future__ import annotations

import multiprocessing
import os
import random
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from search.evaluate import Evaluator
from search.front import pareto_trials
from search.results import ARTIFACTS_ATTR, is_feasible, result_of
from search.space import Design, Point
from search.spec import FINISHED, SEED_MAX, SPEC_ATTR, SearchSpec, Snapshot
from search.storage import (
    HEARTBEAT_S,
    claim_lock,
    heartbeat,
    open_storage,
)

__all__ = ["feasible_points", "record", "run_worker", "snapshot"]


# --- trial accounting -----------------------------------------------------------------------------


def _superseded(trials: Sequence[FrozenTrial]) -> set[int]:
    """Numbers of failed trials that a retry replaced."""
    out: set[int] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for t in trials:
            out.update(RetryHeartbeatStaleTrialCallback.retry_history(t))
    return out


def _claimed(trials: Sequence[FrozenTrial]) -> int:
    """Trials that count towards the target: finished, running or queued, minus retried failures."""
    gone = _superseded(trials)
    return sum(t.state != TrialState.FAIL or t.number not in gone for t in trials)


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def _taken(trials: Sequence[FrozenTrial]) -> set[tuple[tuple[str, Any], ...]]:
    """Designs the study holds (finished, running or queued; a failure a retry replaced is not)."""
    gone = _superseded(trials)
    out = set()
    for t in trials:
        if t.state == TrialState.FAIL and t.number in gone:
            continue
        params = t.params or t.system_attrs.get("fixed_params", {})
        out.add(_key(params))
    return out


def _claim(
    study: optuna.Study, target: int, feasible: Sequence[Design], rng: random.Random
) -> optuna.Trial | bool | None:
    """A new trial, ``True`` to wait for running trials of other workers, or ``None`` when done.

    A new trial is a feasible design the study does not hold yet, picked at random (seeded) from the
    enumeration and queued for this worker alone (the caller holds the claim lock), so that no
    design is measured twice and an over-budget design never becomes a trial."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    fresh: list[Design] = []
    if not waiting and _claimed(trials) < target:
        taken = _taken(trials)
        fresh = [d for d in feasible if _key(d.params) not in taken]
        if fresh:
            study.enqueue_trial(rng.choice(fresh).params)
    if waiting or fresh:
        return study.ask()
    return True if any(t.state == TrialState.RUNNING for t in trials) else None


def snapshot(trials: Sequence[FrozenTrial], spec: SearchSpec, target: int) -> Snapshot:
    gone = _superseded(trials)
    finished = sum(t.state in FINISHED and t.number not in gone for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    good = [t for t in trials if is_feasible(t)]
    front = pareto_trials(good, spec)
    shown = "; ".join(
        f"{result_of(t).get('design', '?')}: "
        + ", ".join(_describe(o, v) for o, v in zip(spec.objectives, t.values, strict=True))
        for t in front[:2]
    )
    best = (
        (f"front {len(front)}: {shown}" + (" …" if len(front) > 2 else ""))
        if front
        else "no feasible design yet"
    )
    return Snapshot(finished, target, running, len(good), best)


def _describe(objective: str, value: float) -> str:
    if objective == "accuracy":
        return f"acc {value:.3f}"
    if objective == "macs":
        return f"{2 * value / 1e6:.3g} MFLOPs"
    if objective == "latency":
        return f"{value:.3g} ms"
    return f"{objective} {value:,.0f}"


# --- workers --------------------------------------------------------------------------------------


def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # We run our own heartbeat thread around ask/tell (see ``heartbeat``), which Optuna warns about.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def run_worker(
    url: str,
    study_name: str,
    target: int,
    index: int = 0,
    heartbeat_interval: int = HEARTBEAT_S,
    threads: int | None = None,
    progress: Callable[[Snapshot], None] | None = None,
) -> None:
    """Claim and evaluate trials of ``study_name`` until it holds ``target`` finished trials or
    every feasible design of the space."""
    _quiet()
    storage = open_storage(url, heartbeat_interval)
    study = optuna.load_study(study_name=study_name, storage=storage)
    stored = study.user_attrs
    spec = SearchSpec.from_attrs(stored[SPEC_ATTR])
    seed = (spec.seed + 1000 * index + len(study.get_trials(deepcopy=False))) % (SEED_MAX + 1)
    rng = random.Random(seed)
    feasible = [p.design for p in feasible_points(spec)]
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluate = Evaluator(spec, stored["num_classes"], stored["in_channels"], stored.get(ARTIFACTS_ATTR))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        with claim_lock(storage, url, study_name):
            claimed = _claim(study, target, feasible, rng)
            if isinstance(claimed, optuna.Trial):
                # Beat at once, on the RDB storage itself (the study's is a cache in front of it): a
                # trial with no heartbeat row is never found stale, so a worker killed before its
                # first beat would leave a RUNNING trial that every other worker waits for.
                storage.record_heartbeat(claimed._trial_id)
        if claimed is None:
            return
        if claimed is True:  # others still run the last trials: wait, in case one of them dies
            time.sleep(min(1.0, heartbeat_interval))
            continue
        assert isinstance(claimed, optuna.Trial)
        trial = claimed
        values: list[float] | None = None
        attrs: dict[str, Any] = {"worker": worker}
        state = TrialState.PRUNED
        with heartbeat(storage, trial._trial_id, heartbeat_interval):
            try:
                values = evaluate(trial, attrs)
            except KeyboardInterrupt:
                # Queue the design again, as for a dead worker: an interrupted trial is not a
                # result and must not count towards the target when the study resumes.
                study.tell(trial, state=TrialState.FAIL)
                RetryHeartbeatStaleTrialCallback()(study, storage.get_trial(trial._trial_id))
                raise
            except Exception as err:  # the study goes on; the reason stays with the trial
                attrs["error"] = f"{type(err).__name__}: {err}"[:500]
                state = TrialState.FAIL
        record(trial, attrs)
        if values is None:
            study.tell(trial, state=state)
        else:
            study.tell(trial, values)
        if progress is not None:
            progress(snapshot(study.get_trials(deepcopy=False), spec, target))


def feasible_points(spec: SearchSpec) -> list[Point]:
    """The designs of the study's space within its analytic budgets, with their costs."""
    budgets = spec.budgets()
    return [p for p in spec.space.points(spec.deploy_input) if p.within(budgets)]


def record(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """Each measurement as its own user attribute (one readable column each in
    ``trials_dataframe()``), and the constraints also as the ``constraints`` list that
    optuna-dashboard reads to show a trial as infeasible."""
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    constraints = trial.storage.get_trial(trial._trial_id).constraints
    if constraints:
        trial.storage.set_trial_system_attr(trial._trial_id, "constraints", list(constraints.values()))


def _run_workers(
    url: str,
    study_name: str,
    trials: int,
    workers: int,
    heartbeat_interval: int,
    spec: SearchSpec,
    progress: Callable[[Snapshot], None] | None,
) -> tuple[int, ...]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=run_worker,
            name=f"cspcost-worker-{i}",
            args=(url, study_name, trials, i, heartbeat_interval, threads),
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    watcher = open_storage(url, heartbeat_interval)
    study_id = watcher.get_study_id_from_name(study_name)
    last: Snapshot | None = None
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(timeout=0.5 / workers)
        now = snapshot(watcher.get_all_trials(study_id, deepcopy=False), spec, trials)
        if progress is not None and now != last:
            progress(now)
        last = now
    return tuple(p.exitcode if p.exitcode is not None else -1 for p in procs)
