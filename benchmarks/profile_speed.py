"""How much faster is the analytic profile than fvcore, for identical per-layer MACs?

Measures, side by side in one run, the median time of
  (a) cspcost's full per-layer profile, ``analyze(expand(config, 224))`` — graph expansion included,
      nothing cached between runs — and
  (b) fvcore's ``FlopCountAnalysis(model, x).by_module()`` on the torch model built from the same config,
and prints both medians, their ratio, and whether every conv/linear layer's MACs agree.

    python benchmarks/profile_speed.py [--model densenet201] [--input 224] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import timeit

import torch

from costmodel import analyze, expand, resolve
from costmodel.counters import fvcore_macs_by_module, sample_input
from costmodel.torch_build import build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="densenet201")
    ap.add_argument("--input", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=5, help="fvcore runs (each takes seconds)")
    args = ap.parse_args()

    config = resolve(args.model)
    # (a) analytic: many short runs; the median of per-call times over 21 batches of 50 calls.
    batches = timeit.repeat(lambda: analyze(expand(config, args.input)), number=50, repeat=21)
    ours = statistics.median(b / 50 for b in batches)

    # (b) fvcore on the built model, eval mode, batch 1.
    net = expand(config, args.input)
    model = build(net).eval()
    x = sample_input(model, net.input_shape)
    times, counts = [], {}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        counts = fvcore_macs_by_module(model, x)
        times.append(time.perf_counter() - t0)
    theirs = statistics.median(times)

    profile = analyze(net)
    mismatched = [
        layer.name
        for layer, cost in profile.rows()
        if layer.kind in ("conv", "linear") and counts.get(layer.name) != cost.macs
    ]
    print(
        f"model {args.model} at {args.input}×{args.input}, {len(net.layers)} layers; "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"cspcost analyze(expand(...)) median: {ours * 1e3:9.3f} ms  (target < 1 ms)")
    print(f"fvcore FlopCountAnalysis median:     {theirs * 1e3:9.1f} ms  ({args.repeats} runs)")
    print(f"speed-up: {theirs / ours:,.0f}×  (target ≥ 1,000×)")
    print(
        f"per-layer conv/linear MACs identical: {not mismatched}"
        + (f" — differs at {mismatched[:5]}" if mismatched else "")
    )
    print(
        f"total MACs: cspcost {profile.totals.macs:,}  fvcore {counts.get('', 0):,} "
        f"(fvcore's total also charges BN and pooling)"
    )


if __name__ == "__main__":
    main()
