"""How fast does cspcost read and analyse a darknet cfg, against darknet's own parse of it?

Measures, side by side in one run, the median wall time of
  (a) cspcost: read yolov4.cfg from disk, build the layer graph at 608×608 and cost every layer
      (``analyze(load(path, 608))``), in this process; and
  (b) darknet: ``dnparse`` (``../shared/reference/darknet/dnparse.c``), darknet's own
      ``load_network`` on the same file plus the per-layer print, as a fresh process each run,
      built from ``../shared/reference/darknet`` into a temporary folder (``make LIBSO=1``);
and prints both medians, their ratio, and whether the two totals agree (today's convention).
darknet's time includes its process start and the buffers ``load_network`` allocates; the run
prints that start-up alone (``dnparse`` without arguments) so the parse can be read apart from it.

    python benchmarks/darknet_parse.py [--cfg yolov4] [--size 608] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from costmodel import analyze
from costmodel.darknet import load

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "darknet"


def build_darknet(into: Path) -> Path:
    """Copy darknet's source into ``into`` and build ``dnparse`` there, as its README says."""
    shutil.copytree(REFERENCE, into, dirs_exist_ok=True)
    (into / "obj").mkdir(exist_ok=True)
    jobs = str(min(os.cpu_count() or 1, 4))
    steps = [
        ["make", f"-j{jobs}", "LIBSO=1", "libdarknet.so"],
        ["gcc", "-O1", "-Iinclude", "dnparse.c", "-L.", "-ldarknet", "-lm", "-lpthread", "-o", "dnparse"],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=into, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise SystemExit(f"building darknet failed at {' '.join(step)}:\n" + "\n".join(tail))
    return into / "dnparse"


def _run(dnparse: Path, args: list[str]) -> float:
    env = {**os.environ, "LD_LIBRARY_PATH": str(dnparse.parent)}
    start = time.perf_counter()
    subprocess.run([str(dnparse), *args], cwd=dnparse.parent, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cfg", default="yolov4")
    ap.add_argument("--size", type=int, default=608)
    ap.add_argument("--repeats", type=int, default=7, help="darknet runs (fresh processes)")
    args = ap.parse_args()
    if not REFERENCE.is_dir():
        raise SystemExit(f"darknet's source is not at {REFERENCE}")

    with tempfile.TemporaryDirectory(prefix="darknet-") as tmp:
        t0 = time.perf_counter()
        dnparse = build_darknet(Path(tmp) / "darknet")
        build_s = time.perf_counter() - t0
        cfg = dnparse.parent / "cfg" / f"{args.cfg}.cfg"
        # darknet parses at the cfg's own [net] size: give it a copy at --size
        text = cfg.read_text(encoding="utf-8", errors="replace")
        sized = dnparse.parent / f"{args.cfg}-{args.size}.cfg"
        lines = []
        for line in text.splitlines():
            key = line.replace(" ", "").split("=")[0]
            lines.append(f"{key}={args.size}" if key in ("width", "height") else line)
        sized.write_text("\n".join(lines) + "\n")
        out = dnparse.parent / "out.txt"

        # (a) cspcost: 21 batches of 5 calls, median per call
        batches = timeit.repeat(lambda: analyze(load(sized)), number=5, repeat=21)
        ours = statistics.median(b / 5 for b in batches)
        ours_total = analyze(load(sized)).bflops_darknet_current

        # (b) darknet, interleaved with its bare start-up so both see the same machine load
        parse_times, start_times = [], []
        for _ in range(args.repeats):
            parse_times.append(_run(dnparse, [str(sized), str(out)]))
            start_times.append(_run(dnparse, []))
        theirs = statistics.median(parse_times)
        startup = statistics.median(start_times)
        darknet_total = float(out.read_text().splitlines()[-1].split()[1])

    print(
        f"{args.cfg}.cfg at {args.size}×{args.size}, batch 1 ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; darknet built in {build_s:.0f} s)"
    )
    print(f"  cspcost read + analyse      {ours * 1e3:9.2f} ms (median of 21×5 calls)")
    print(f"  darknet dnparse             {theirs * 1e3:9.2f} ms (median of {args.repeats} processes)")
    print(f"    of which process start-up {startup * 1e3:9.2f} ms")
    print(
        f"  ratio darknet / cspcost     {theirs / ours:9.1f}×   (without start-up: "
        f"{(theirs - startup) / ours:.1f}×)"
    )
    agree = f"{ours_total:.6f}"[:-2] == f"{darknet_total:.6f}"[:-2]
    print(
        f"  totals: cspcost {ours_total:.6f} BFLOPs (today's convention), darknet {darknet_total:.6f}"
        f" — {'agree' if agree else 'DIFFER'} to 4 decimals"
    )


if __name__ == "__main__":
    main()
