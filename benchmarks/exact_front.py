"""The exact cost-only Pareto front (objectives macs, cio) by enumeration: for DenseNet-201 over its
full space (γ × fusion × k × depth × width, ``--multipliers``), its default space, and DenseNet-121's
default space under 3000 MFLOPs, the space size, the front, designs per second and wall time, and the
time the analytic cost model alone takes for the same designs (so the share spent outside it shows);
then the command a new user runs, ``cspcost search --base densenet121 --max-mflops 3000 --objectives
macs,cio``, as a subprocess: the time until its Pareto table is printed (wall, and the CPU time
the process has used by then, which is what the wall time is on an idle machine) and until it exits
(the Pareto plot and the ONNX export of the front come after the table).

With ``--baseline DIR`` (another checkout, e.g. ``git worktree add --detach /tmp/exact-main main``)
every figure is measured for both, side by side and interleaved round by round, each measurement in a
fresh interpreter with the checkout first on ``PYTHONPATH``; medians over ``--rounds``, with the load
average before and after.

Run: python -m benchmarks.exact_front [--rounds 5] [--baseline /tmp/exact-main]  (from the repository root)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]

CASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("densenet201, full space", {"base": "densenet201", "multipliers": True}),
    ("densenet201, default space", {"base": "densenet201"}),
    ("densenet121, default space", {"base": "densenet121", "max_mflops": 3000.0}),
)
PACKAGES = ("cli", "costmodel", "reports", "search")
COMMAND = ("search", "--base", "densenet121", "--max-mflops", "3000", "--objectives", "macs,cio")


def measure_in_process() -> dict[str, dict[str, float]]:
    """One round of every case, in this interpreter (imports done before any timing)."""
    from search.space import design_costs
    from search.spec import SearchSpec
    from search.study import exact_front  # where every checkout has it

    # The editable install's finder would serve a module this checkout lacks from the other one:
    # measure only what comes from the checkout on PYTHONPATH.
    home = os.environ["PYTHONPATH"]
    ours = [m for m in list(sys.modules.values()) if m.__name__.split(".")[0] in PACKAGES]
    strays = [m.__name__ for m in ours if not str(getattr(m, "__file__", home)).startswith(home)]
    if strays:
        raise SystemExit(f"modules from outside {home}: {', '.join(strays)}")

    out = {}
    for label, given in CASES:
        spec = SearchSpec(objectives=("macs", "cio"), **given)
        start, cpu = time.perf_counter(), time.process_time()
        result = exact_front(spec)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        space, size = spec.space, spec.deploy_input
        designs = list(space.designs())
        start = time.perf_counter()
        for d in designs:
            design_costs(space.base.deployed(d), size)
        model = time.perf_counter() - start
        out[label] = {
            "designs": len(designs),
            "front": len(result.pareto),
            "wall": wall,
            "cpu": cpu,
            "model": model,
        }
    return out


def _env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "COLUMNS": "160"}


def in_process_round(checkout: Path) -> dict[str, dict[str, float]]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        env=_env(checkout),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far, from ``/proc`` (Linux; NaN
    elsewhere): on an idle machine, about its wall time, since the command runs in one thread."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_round(checkout: Path) -> tuple[float, float, float]:
    """``(seconds to the Pareto table printed, CPU seconds by then, seconds to exit)`` of the user's
    command, run by the console script in an empty folder."""
    script = Path(sys.executable).with_name("cspcost")
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(script), *COMMAND],
            env=_env(checkout),
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        front = cpu = float("nan")
        titled = False
        for line in proc.stdout:
            titled = titled or "Pareto front:" in line
            if titled and line.startswith("└") and front != front:  # the table's last line
                front, cpu = time.perf_counter() - start, _cpu_seconds(proc.pid)
        code = proc.wait()
        total = time.perf_counter() - start
        if code != 0:
            raise SystemExit(f"{' '.join(COMMAND)} exited with {code} in {checkout}")
    return front, cpu, total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure_in_process()))
        return
    checkouts = {"this checkout": HERE}
    if args.baseline is not None:
        checkouts = {f"baseline {args.baseline}": args.baseline.resolve(), **checkouts}
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, dict[str, float]]]] = {k: [] for k in checkouts}
    cli: dict[str, list[tuple[float, float, float]]] = {k: [] for k in checkouts}
    for _ in range(args.rounds):
        for name, path in checkouts.items():
            runs[name].append(in_process_round(path))
            cli[name].append(command_round(path))
    load_after = os.getloadavg()
    print(
        f"exact cost-only front (objectives macs, cio): median of {args.rounds} rounds, each in a fresh "
        f"interpreter, checkouts interleaved; load average {' '.join(f'{x:.2f}' for x in load_before)} "
        f"before, {' '.join(f'{x:.2f}' for x in load_after)} after, {os.cpu_count()} cores"
    )
    for label, _ in CASES:
        print(f"  {label}:")
        walls = {}
        for name in checkouts:
            rows = [r[label] for r in runs[name]]
            wall = statistics.median(r["wall"] for r in rows)
            cpu = statistics.median(r["cpu"] for r in rows)
            model = statistics.median(r["model"] for r in rows)
            n, front = int(rows[0]["designs"]), int(rows[0]["front"])
            walls[name] = wall
            print(
                f"    {name:32}: {n:4d} designs, front {front:3d}; {wall:6.3f} s wall ({cpu:.3f} s CPU), "
                f"{n / wall:5.0f} designs/s; cost model alone {model:6.3f} s wall"
            )
        _ratio(walls)
    print(f"  cspcost {' '.join(COMMAND)} (subprocess, console script):")
    fronts = {}
    for name in checkouts:
        fronts[name] = statistics.median(f for f, _, _ in cli[name])
        cpu = statistics.median(c for _, c, _ in cli[name])
        total = statistics.median(t for _, _, t in cli[name])
        print(
            f"    {name:32}: front printed after {fronts[name]:6.3f} s wall ({cpu:.2f} s CPU), exits "
            f"after {total:6.3f} s (plot and ONNX export included)"
        )
    _ratio(fronts, "to the front")


def _ratio(values: dict[str, float], what: str = "wall") -> None:
    if len(values) == 2:
        before, after = values.values()
        print(f"    {'':32}  {what}: baseline ÷ this checkout = {before / after:.2f}")


if __name__ == "__main__":
    main()
