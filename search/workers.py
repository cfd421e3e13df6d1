"""Workers: processes that claim trials of a study until it holds the target number, and the
progress snapshot they report."""

from __future__ import annotations

import multiprocessing
import os
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
from search.results import RESULT_ATTR, is_feasible, result_of
from search.spec import FINISHED, SEED_MAX, SPEC_ATTR, SearchSpec, Snapshot
from search.storage import (
    HEARTBEAT_S,
    claim_lock,
    heartbeat,
    open_storage,
)

__all__ = ["run_worker", "snapshot"]


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


def _claim(study: optuna.Study, target: int) -> tuple[optuna.Trial | bool | None, list[FrozenTrial]]:
    """A new trial, ``True`` to wait for running trials of other workers, or ``None`` when done;
    with the study's trials as they were at the claim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    if waiting or _claimed(trials) < target:
        trial = study.ask()
        study._storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
        return trial, trials
    return (True if any(t.state == TrialState.RUNNING for t in trials) else None), trials


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
    """Claim and evaluate trials of ``study_name`` until it holds ``target`` finished trials."""
    _quiet()
    storage = open_storage(url, heartbeat_interval)
    stored = optuna.load_study(study_name=study_name, storage=storage).user_attrs
    spec = SearchSpec.from_attrs(stored[SPEC_ATTR])
    seed = (
        spec.seed
        + 1000 * index
        + len(storage.get_all_trials(storage.get_study_id_from_name(study_name), deepcopy=False))
    ) % (SEED_MAX + 1)
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluate = Evaluator(spec, stored["num_classes"], stored["in_channels"])
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        with claim_lock(storage, url, study_name):
            claimed, history = _claim(study, target)
        if claimed is None:
            return
        if claimed is True:  # others still run the last trials: wait, in case one of them dies
            time.sleep(min(1.0, heartbeat_interval))
            continue
        assert isinstance(claimed, optuna.Trial)
        trial = claimed
        values: list[float] | None = None
        attrs: dict[str, Any] = {"worker": worker}
        with heartbeat(storage, trial._trial_id, heartbeat_interval):
            try:
                values = evaluate(study, trial, attrs, history)
            except KeyboardInterrupt:
                # Queue the design again, as for a dead worker: an interrupted trial is not a
                # result and must not count towards the target when the study resumes.
                study.tell(trial, state=TrialState.FAIL)
                RetryHeartbeatStaleTrialCallback()(study, storage.get_trial(trial._trial_id))
                raise
            except Exception as err:  # the study goes on; the reason stays with the trial
                attrs["error"] = f"{type(err).__name__}: {err}"[:500]
        trial.set_user_attr(RESULT_ATTR, attrs)
        if values is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, values)
        if progress is not None:
            progress(snapshot(study.get_trials(deepcopy=False), spec, target))


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
