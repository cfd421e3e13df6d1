"""Workers: processes that run Optuna's ``optimize`` on a study until it holds the target number of
finished trials or every feasible design, and the progress snapshot they report.

Optuna's own machinery does the bookkeeping:

- ``Study.optimize`` with the storage's heartbeat: a trial whose worker died (``kill -9``, a lost
  machine) goes stale, the next trial any worker starts marks it failed, and
  ``RetryHeartbeatStaleTrialCallback`` (set on the storage, ``search.storage``) queues its design
  again;
- ``MaxTrialsCallback`` stops a worker once the study's finished, running and queued trials reach
  the target, so several workers do not overshoot it; a worker whose study is short of the target
  only because others still run waits for them, in case one dies and its design is queued again;
- ``DesignSampler``, an Optuna sampler, proposes only feasible designs the study does not hold yet
  (``enqueue_trial`` from several processes on one SQLite file raced in an earlier check; a
  sampler needs no queue), and stops the study when none is left;
- Ctrl-C: ``optimize`` records the interrupted trial as failed; a failure without an ``error`` is
  not a result, so the sampler proposes its design again when the study resumes.

Two workers may still pick one design at the same moment (the sampler reads the study, then the
trial writes its choice); the objective checks after suggesting, and a design already held by
another trial fails the later claim as ``duplicate_of`` (never counted, never measured).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from search.evaluate import Evaluator
from search.front import pareto_trials
from search.results import ARTIFACTS_ATTR, is_feasible, result_of
from search.space import Design, Point
from search.spec import SEED_MAX, SPEC_ATTR, SearchSpec, Snapshot
from search.storage import HEARTBEAT_S, MAX_RETRY, AttrWriter, open_storage

__all__ = ["DesignSampler", "Job", "feasible_points", "run_worker", "run_workers", "snapshot", "taken"]

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The trials that count towards ``--trials``: measured (pruned ones by a budget or halving)."""


# --- trial accounting -----------------------------------------------------------------------------


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def _retries(t: FrozenTrial) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return len(RetryHeartbeatStaleTrialCallback.retry_history(t))


def taken(trials: Sequence[FrozenTrial]) -> set[tuple[tuple[str, Any], ...]]:
    """Designs the study holds: measured, being measured, queued for a retry, failed with an
    error, or retried ``MAX_RETRY`` times already. A design whose trial was interrupted (Ctrl-C)
    or whose worker died is free again, unless a retry of it is queued."""
    out = set()
    for t in trials:
        params = t.params or t.system_attrs.get("fixed_params", {})
        if not params or "duplicate_of" in t.user_attrs:
            continue
        if t.state == TrialState.FAIL and "error" not in t.user_attrs and _retries(t) < MAX_RETRY:
            continue
        out.add(_key(params))
    return out


class DesignSampler(BaseSampler):
    """Proposes a feasible design (a seeded random pick) that the study does not hold yet; the
    whole design at once, as relative parameters. With no free design left it proposes a random
    feasible one, which the objective then refuses as a duplicate."""

    def __init__(self, space: Sequence[Design], seed: int) -> None:
        self.designs = list(space)
        self.keys = [_key(d.params) for d in self.designs]
        self.rng = random.Random(seed)
        self.chosen: dict[int, dict[str, Any]] = {}  # trial number → its design's parameters
        self.held: set[tuple[tuple[str, Any], ...]] = set()  # as the last read of the study saw

    def free(self, study: optuna.Study) -> list[Design]:
        """The designs the study does not hold, read from the storage now."""
        self.held = taken(study.get_trials(deepcopy=False))
        return self.known_free()

    def known_free(self) -> list[Design]:
        """The designs free as the last read saw them, less those this sampler chose since: no
        read. Another worker's later choice is caught by the duplicate check."""
        held = self.held | {_key(p) for p in self.chosen.values()}
        return [d for d, key in zip(self.designs, self.keys, strict=True) if key not in held]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        if trial.number not in self.chosen:
            free = self.free(study) or self.designs
            self.chosen[trial.number] = self.rng.choice(free).params
        chosen = self.chosen[trial.number]
        if param_name not in chosen:
            raise RuntimeError(f"parameter {param_name!r} is not a knob of design {chosen}")
        return chosen[param_name]


def snapshot(trials: Sequence[FrozenTrial], spec: SearchSpec, target: int) -> Snapshot:
    finished = sum(t.state in COUNTED for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    good = [t for t in trials if is_feasible(t)]
    front = pareto_trials(good, spec)
    shown = "; ".join(
        f"{result_of(t).get('design', '?')}: "
        + ", ".join(_describe(o, v, result_of(t)) for o, v in zip(spec.objectives, t.values, strict=True))
        for t in front[:2]
    )
    best = (
        (f"front {len(front)}: {shown}" + (" …" if len(front) > 2 else ""))
        if front
        else "no feasible design yet"
    )
    per_epoch = sorted(
        result_of(t)["seconds_per_epoch"] for t in trials if "seconds_per_epoch" in result_of(t)
    )
    estimate = None
    if spec.trains and per_epoch:
        # upper bound: every remaining design trains every seed to the last rung, at the median
        # seconds per epoch measured so far (the first training of a process also warms it up)
        left = max(0, target - finished)
        estimate = left * spec.seeds * spec.epochs * per_epoch[len(per_epoch) // 2]
    return Snapshot(finished, target, running, len(good), best, estimate)


def _describe(objective: str, value: float, attrs: dict[str, Any]) -> str:
    if objective == "accuracy":
        ci = attrs.get("accuracy_ci95")
        return f"acc {value:.3f}" + (f" ± {ci:.3f}" if isinstance(ci, float) else "")
    if objective == "macs":
        return f"{2 * value / 1e6:.3g} MFLOPs"
    if objective == "latency":
        return f"{value:.3g} ms"
    return f"{objective} {value:,.0f}"


# --- workers --------------------------------------------------------------------------------------


def _quiet() -> None:
    # Optuna logs each failed trial with its traceback at WARNING; the reason is kept with the trial
    # (its ``error`` attribute) and the summary counts failures, so only errors are shown.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def feasible_points(spec: SearchSpec) -> list[Point]:
    """The designs of the study's space within its analytic budgets, with their costs."""
    budgets = spec.budgets()
    return [p for p in spec.space.points(spec.deploy_input) if p.within(budgets)]


def _duplicate(trial: optuna.Trial) -> int | None:
    """The number of another trial holding ``trial``'s design, if one does."""
    mine = _key(trial.params)
    for t in trial.study.get_trials(deepcopy=False):
        if t.number == trial.number or "duplicate_of" in t.user_attrs:
            continue
        if t.state in (TrialState.RUNNING, *COUNTED) and _key(t.params) == mine:
            return t.number
        if t.state == TrialState.FAIL and "error" in t.user_attrs and _key(t.params) == mine:
            return t.number
    return None


def _record_constraints(trial: optuna.Trial, spec: SearchSpec) -> None:
    """The constraints also as the ``constraints`` list optuna-dashboard reads to show a trial as
    infeasible (Optuna 5 stores them as ``constraints:NAME`` keys); before the trial is told. A
    search without budgets sets none, and reads nothing."""
    if not spec.budgets():
        return
    constraints = trial.storage.get_trial(trial._trial_id).constraints
    if constraints:
        trial.storage.set_trial_system_attr(trial._trial_id, "constraints", list(constraints.values()))


@dataclass(frozen=True)
class Job:
    """What every worker of a run shares: where the study lives, its name, the number of finished
    trials it should hold, and the heartbeat interval (seconds)."""

    url: str
    study_name: str
    target: int
    heartbeat_interval: int = HEARTBEAT_S


def run_worker(
    job: Job,
    index: int = 0,
    threads: int | None = None,
    progress: Callable[[Snapshot], None] | None = None,
    storage: RDBStorage | None = None,
) -> None:
    """Run ``optimize`` on the job's study until it holds ``job.target`` complete or pruned
    trials, or every feasible design of the space. ``storage``: the caller's open storage (one
    process opens it once); a spawned worker opens its own from ``job.url``."""
    _quiet()
    target = job.target
    storage = storage or open_storage(job.url, job.heartbeat_interval)
    study = optuna.load_study(study_name=job.study_name, storage=storage)
    stored = study.user_attrs
    spec = SearchSpec.from_attrs(stored[SPEC_ATTR])
    seed = (spec.seed + 1000 * index + len(study.get_trials(deepcopy=False))) % (SEED_MAX + 1)
    feasible = [p.design for p in feasible_points(spec)]
    sampler = DesignSampler(feasible, seed)
    study.sampler = sampler  # a plain attribute of Study: the sampler needs the study's spec first
    if threads:
        import torch

        torch.set_num_threads(threads)
    evaluate = Evaluator(
        spec, stored["num_classes"], stored["in_channels"], stored.get(ARTIFACTS_ATTR), AttrWriter(storage)
    )
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if progress is not None:
        evaluate.first_epoch = lambda: progress(snapshot(study.get_trials(deepcopy=False), spec, target))

    def check_duplicate(trial: optuna.Trial) -> None:
        other = _duplicate(trial)
        if other is not None:
            trial.set_user_attr("duplicate_of", other)
            raise DuplicateDesignError(f"design {trial.params} is held by trial {other}")

    def objective(trial: optuna.Trial) -> list[float]:
        try:
            return evaluate(trial, check_duplicate, {"worker": worker})
        except (optuna.TrialPruned, DuplicateDesignError):
            raise
        except Exception as err:  # the study goes on; the reason stays with the trial
            trial.set_user_attr("error", f"{type(err).__name__}: {err}"[:500])
            raise
        finally:
            _record_constraints(trial, spec)

    def after(study: optuna.Study, trial: FrozenTrial) -> None:
        if not sampler.known_free():
            study.stop()
        sampler.chosen.pop(trial.number, None)
        if progress is not None:
            progress(snapshot(study.get_trials(deepcopy=False), spec, target))

    limit = MaxTrialsCallback(target, states=(*COUNTED, TrialState.RUNNING, TrialState.WAITING))
    while True:
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        if sum(s in COUNTED for s in states) >= target:
            return
        queued = TrialState.WAITING in states
        in_flight = sum(s in (*COUNTED, TrialState.RUNNING, TrialState.WAITING) for s in states)
        if queued or (in_flight < target and sampler.free(study)):
            study.optimize(objective, callbacks=[limit, after], catch=(Exception,), gc_after_trial=False)
        elif TrialState.RUNNING in states:
            # Others run the last trials: wait, in case one of them dies (it goes stale, Optuna
            # fails it and queues its design again, and this worker measures it).
            time.sleep(min(1.0, job.heartbeat_interval))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
        else:
            return


class DuplicateDesignError(RuntimeError):
    """Another trial already holds this design (two workers picked it at the same moment)."""


def _counted(study: optuna.Study) -> int:
    return sum(t.state in COUNTED for t in study.get_trials(deepcopy=False))


def run_workers(
    job: Job,
    workers: int,
    spec: SearchSpec,
    watcher: RDBStorage,
    progress: Callable[[Snapshot], None] | None,
) -> tuple[int, ...]:
    """``workers`` spawned processes sharing the study; this one watches and reports progress."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=run_worker, name=f"cspcost-worker-{i}", args=(job, i, threads))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    trials = job.target
    study_id = watcher.get_study_id_from_name(job.study_name)
    last: Snapshot | None = None
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(timeout=0.5 / workers)
        now = snapshot(watcher.get_all_trials(study_id, deepcopy=False), spec, trials)
        if progress is not None and now != last:
            progress(now)
        last = now
    return tuple(p.exitcode if p.exitcode is not None else -1 for p in procs)
