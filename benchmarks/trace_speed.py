"""Is tracing a torch model as cheap as the peers that count only FLOPs?

Side by side in one run, on the same torch DenseNet-121 (built by ``costmodel.torch_build`` from the
named config), at each input size:
  (a) cspcost: ``trace(model, shape).analyze()`` — meta tensors, every column (MACs, params, both CIO
      scopes, concat traffic, bytes, footprint, bottleneck);
  (b) torch's ``FlopCounterMode`` running the same model on the meta device (FLOPs only);
  (c) fvcore's ``FlopCountAnalysis(model, x).by_module()`` on CPU (MACs only; it runs real tensors).
Prints the medians and the ratios (b)/(a) and (c)/(a): above 1 means the tracer is faster. It also
checks that the three agree on the total (2·MACs).

    python benchmarks/trace_speed.py [--model densenet121] [--inputs 224,896] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from costmodel import analyze, expand, resolve
from costmodel.counters import sample_input
from costmodel.torch_build import build
from costmodel.torch_trace import trace


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    fn()  # warm-up: first-call dispatch and import costs are not what we compare
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def flop_counter_meta(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    x = torch.empty((1, *shape), device="meta")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return int(counter.get_total_flops())


def fvcore_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with torch.no_grad():
        by_module = analysis.by_module()
    return int(sum(v for k, v in by_module.items() if k and "." not in k))  # top-level children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="densenet121")
    ap.add_argument("--inputs", default="224,896")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    config = resolve(args.model)
    model = build(expand(config, 224)).eval()
    meta_model = copy.deepcopy(model).to("meta")
    print(
        f"model {args.model} (torch, {sum(p.numel() for p in model.parameters()):,} params); python "
        f"{platform.python_version()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeats} runs each"
    )
    print(
        f"{'input':>7} {'trace+analyze':>14} {'FlopCounterMode(meta)':>22} {'fvcore(cpu)':>12} "
        f"{'FCM/ours':>9} {'fvcore/ours':>12}  agree"
    )
    for size in (int(s) for s in args.inputs.split(",")):
        shape = (3, size, size)
        ours, profile = median_time(lambda shape=shape: trace(model, shape).analyze(), args.repeats)
        fcm, fcm_flops = median_time(lambda shape=shape: flop_counter_meta(meta_model, shape), args.repeats)
        x = sample_input(model, shape)  # type: ignore[arg-type]
        fv, fv_macs = median_time(lambda x=x: fvcore_total(model, x), max(1, args.repeats // 2))
        macs = profile.totals.macs  # type: ignore[attr-defined]
        bn_free = analyze(expand(config, size)).totals.macs
        agree = fcm_flops == 2 * macs and macs == bn_free and fv_macs >= macs
        print(
            f"{size:>7} {ours * 1e3:>11.1f} ms {fcm * 1e3:>19.1f} ms {fv * 1e3:>9.0f} ms "
            f"{fcm / ours:>8.2f}× {fv / ours:>11.2f}×  {'yes' if agree else 'NO'}"
        )
    print("ratios above 1: the tracer is faster; fvcore's total adds BN and pooling to the MACs")


if __name__ == "__main__":
    main()
