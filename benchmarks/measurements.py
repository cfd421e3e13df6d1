"""Issue 11's measurements, side by side in one run (figures, not a timed test; on a shared 2-core
machine every time below is noisy — read the IQRs and the load average printed with them):

1. three real studies over the same eight designs of the default base on the default data (MNIST at
   32 px, 3 seeds, up to 4 epochs): halving with seed 0, halving with seed 1 (another sampler order
   *and* other training seeds), and no halving with seed 0. For each: wall time to the final front,
   seconds per epoch of one training, the front with its validation and test accuracies. Then
   whether halving changed the front (seed 0 with and without) and whether the front is stable
   across seeds (the same designs, or designs tied within their intervals);
2. ONNX Runtime against eager torch latency for five designs of DenseNet-121 at 224 px, 1 thread,
   batch 1, with the Spearman ρ of each against MACs and CIO.

Run: python -m benchmarks.measurements [--skip-accuracy] [--skip-latency] (from the repository root)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from costmodel import analyze
from costmodel.specs import load_network, parse_spec
from search.latency import spearman, time_network
from search.results import result_of
from search.spec import SearchResult
from search.study import run_search

SPACE = {"gammas": (0.5,), "growth_rates": (8, 12)}
"""Four fusions (γ = 0.5 where it applies) × two growth rates of tinydensenet: eight designs, all
measured, so the sampler's seed changes only the order (and, through --seed, the training seeds)."""


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _front(result: SearchResult) -> dict[str, str]:
    out = {}
    for t in result.pareto:
        a = result_of(t)
        test = result.test_accuracy.get(t.number, {})
        ci = a.get("accuracy_ci95")
        test_ci = test.get("ci95")
        out[a["design"]] = (
            f"{2 * a['macs'] / 1e6:6.2f} MFLOPs  val {a['accuracy']:.4f} ± {ci or float('nan'):.4f}  "
            f"test {test.get('mean', float('nan')):.4f} ± {test_ci or float('nan'):.4f}"
        )
    return out


def accuracy_part(folder: Path) -> None:
    url = f"sqlite:///{folder / 'measure.db'}"
    runs = {
        "halving, seed 0": {**SPACE, "seed": 0, "halving": True},
        "halving, seed 1": {**SPACE, "seed": 1, "halving": True},
        "no halving, seed 0": {**SPACE, "seed": 0, "halving": False},
    }
    fronts: dict[str, dict[str, str]] = {}
    results: dict[str, SearchResult] = {}
    for i, (label, given) in enumerate(runs.items()):
        start = time.perf_counter()
        result = run_search(given, trials=8, storage=url, study_name=f"m{i}")
        took = time.perf_counter() - start
        per_epoch = [
            result_of(t)["seconds_per_epoch"] for t in result.trials if "seconds_per_epoch" in result_of(t)
        ]
        states = [t.state.name for t in result.trials]
        epochs = sum(int(result_of(t).get("epochs", 0)) for t in result.trials) * result.spec.seeds
        print(
            f"{label}: {took:.0f} s to the final front ({_load()}); {states.count('COMPLETE')} complete, "
            f"{states.count('PRUNED')} pruned by halving; {epochs} epochs trained in all; seconds per "
            f"epoch of one training (one seed, 3,000 images): median {statistics.median(per_epoch):.2f}",
            flush=True,
        )
        fronts[label] = _front(result)
        results[label] = result
        for design, line in fronts[label].items():
            print(f"    {design:24s} {line}")
    a, b, c = fronts.values()
    print(f"halving changed the front (seed 0): {'no' if set(a) == set(c) else 'yes'}")
    same = "same designs" if set(a) == set(b) else "differs"
    print(f"front stable across seeds 0 and 1 (with halving): {same}")
    if set(a) != set(b):
        _explain(results["halving, seed 0"], results["halving, seed 1"])


def _explain(r0: SearchResult, r1: SearchResult) -> None:
    """For a design on one front only: its accuracy in the other run, to see whether it is a tie."""
    by_design = [{result_of(t)["design"]: t for t in r.trials} for r in (r0, r1)]
    for i, r in enumerate((r0, r1)):
        other = by_design[1 - i]
        for t in r.pareto:
            d = result_of(t)["design"]
            if d in {result_of(u)["design"] for u in (r1, r0)[i].pareto}:
                continue
            o = other.get(d)
            there = "not measured"
            if o is not None:
                m = result_of(o)
                there = (
                    f"{o.state.name}, val {m.get('accuracy', float('nan')):.4f} ± "
                    f"{m.get('accuracy_ci95') or float('nan'):.4f} after {m.get('epochs')} epochs"
                )
            print(f"    only on seed {i}'s front: {d}; in the other run: {there}")


LATENCY_DESIGNS = (
    "densenet121",
    "cspdensenet121",
    "densenet121:gamma=0.25,fusion=csp",
    "densenet121:gamma=0.75,fusion=csp",
    "densenet121:growth_rate=16",
)


def latency_part(deploy: int) -> None:
    rows = []
    for name in LATENCY_DESIGNS:
        spec = parse_spec(name).with_knobs({"input_size": deploy})
        net = load_network(spec)
        totals = analyze(net).totals
        ort = time_network(net, "ort", "cpu", 1, 1)
        eager = time_network(net, "torch", "cpu", 1, 1)
        rows.append((totals.macs, totals.cio_conv_pool, ort.median_ms, eager.median_ms))
        print(
            f"{name:34s} {2 * totals.macs / 1e9:5.2f} GFLOPs  ort {ort.median_ms:7.1f} ms (IQR "
            f"{ort.iqr_ms:.1f}{', NOISY' if ort.noisy else ''})  eager {eager.median_ms:7.1f} ms (IQR "
            f"{eager.iqr_ms:.1f}{', NOISY' if eager.noisy else ''})  eager/ort "
            f"{eager.median_ms / ort.median_ms:.2f}×  ({_load()})",
            flush=True,
        )
    macs, cio = [r[0] for r in rows], [r[1] for r in rows]
    for label, idx in (("ort", 2), ("eager torch", 3)):
        lat = [r[idx] for r in rows]
        print(
            f"Spearman ρ, {label} latency (1 thread, batch 1, {deploy}×{deploy} px) vs MACs "
            f"{spearman(lat, macs):+.2f}, vs CIO {spearman(lat, cio):+.2f} ({len(rows)} designs)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploy", type=int, default=224)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not args.skip_latency:
        latency_part(args.deploy)
    if not args.skip_accuracy:
        with tempfile.TemporaryDirectory() as tmp:
            accuracy_part(Path(tmp))


if __name__ == "__main__":
    main()
