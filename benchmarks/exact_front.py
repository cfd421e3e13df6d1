"""The exact cost-only Pareto front of a DenseNet-201 base over its full space (γ × fusion × k × depth
× width), by enumeration: space size, designs per second and wall time, side by side with the
default space (no multipliers) of the same base and of DenseNet-121, and with the time the analytic
cost model alone takes for the same designs (so the share spent outside it shows).

Run: python -m benchmarks.exact_front [--rounds 3]  (from the repository root)
"""

from __future__ import annotations

import argparse
import statistics
import time

from search.exact import exact_front
from search.space import design_costs
from search.spec import SearchSpec

CASES = (
    ("densenet201, full space", {"base": "densenet201", "multipliers": True}),
    ("densenet201, default space", {"base": "densenet201"}),
    ("densenet121, default space", {"base": "densenet121", "max_mflops": 3000.0}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"exact cost-only front (objectives macs, cio), median of {args.rounds} rounds")
    for label, given in CASES:
        spec = SearchSpec(objectives=("macs", "cio"), **given)  # type: ignore[arg-type]
        walls, front = [], 0
        for _ in range(args.rounds):
            start = time.perf_counter()
            result = exact_front(spec)
            walls.append(time.perf_counter() - start)
            front = len(result.pareto)
        designs = list(spec.space.designs())
        start = time.perf_counter()
        for d in designs:
            design_costs(spec.space.base.deployed(d), spec.deploy_input)
        model = time.perf_counter() - start
        wall = statistics.median(walls)
        print(
            f"  {label:28}: {len(designs):4d} designs, front {front:3d}; {wall:6.3f} s wall, "
            f"{len(designs) / wall:7.0f} designs/s; cost model alone {model:6.3f} s "
            f"({model / wall:.0%} of the wall time)"
        )


if __name__ == "__main__":
    main()
