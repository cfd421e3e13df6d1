"""Measured inference latency of a design as deployed: its network at the deployment resolution,
exported to ONNX and timed in ONNX Runtime, with eager PyTorch beside it for comparison.

Every number says how it was taken, because each of these changes the answer: the runtime (``ort``
or ``torch``), the device (``cpu``; ``cuda`` where a GPU is present), the number of CPU threads
(pinned, never left to the runtime's default), the batch size and the input resolution (the CSPNet
paper reports frames per second at a stated batch on each device).

The timing: warm-up runs, then repeated blocks of runs (each block about ``BLOCK_S``, at least
``MIN_BLOCKS`` blocks and ``min_run_time`` in all); the median and the interquartile range over the
blocks, never one run. A shared, noisy machine stalls now and then: the median ignores a stall, the
IQR shows it. A measurement whose IQR exceeds ``MAX_IQR_FRACTION`` of its median is taken again (up
to ``ATTEMPTS`` times, the steadiest kept) and, if still that noisy, marked ``noisy`` — shown as such,
never silently used.

``spearman`` is the rank correlation that tells whether an analytic cost (MACs, CIO) orders designs
as their measured latency does.
"""

from __future__ import annotations

import importlib.util
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from costmodel import Network, SpecError
from costmodel.errors import excerpt
from costmodel.specs import ModelSpec

__all__ = [
    "ATTEMPTS",
    "LATENCY_DEVICES",
    "MAX_IQR_FRACTION",
    "RUNTIMES",
    "Latency",
    "LatencyReport",
    "all_cores",
    "check_devices",
    "check_runtime",
    "measure_latency",
    "spearman",
    "time_model",
    "time_network",
]

LATENCY_DEVICES: tuple[str, ...] = ("cpu", "cuda")
RUNTIMES: tuple[str, ...] = ("ort", "torch")
BLOCK_S = 0.005
MIN_BLOCKS = 7
WARMUP = 3
MAX_IQR_FRACTION = 0.25
"""A measurement whose IQR exceeds this fraction of its median is repeated, then flagged noisy."""
ATTEMPTS = 3
"""Measurements taken at most before a noisy one is flagged."""


@dataclass(frozen=True)
class Latency:
    """One latency measurement: median and IQR over timed blocks, in ms per batch, and how it was
    taken. ``noisy``: its IQR stayed above ``MAX_IQR_FRACTION`` of the median after ``attempts``
    measurements."""

    device: str
    median_ms: float
    iqr_ms: float
    batch_size: int
    threads: int
    runs: int
    runtime: str = "torch"
    input_size: tuple[int, int] = (0, 0)
    attempts: int = 1
    noisy: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["input_size"] = list(self.input_size)
        return out

    @property
    def conditions(self) -> str:
        """How it was measured, in words: ``ort cpu, 1 thread, batch 1, 224×224 px``."""
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        h, w = self.input_size
        where = f"{self.runtime} {self.device}" + (f", {threads}" if self.device == "cpu" else "")
        return f"{where}, batch {self.batch_size}, {h}×{w} px"

    def __str__(self) -> str:
        flag = f" NOISY (IQR > {MAX_IQR_FRACTION:.0%} of median after {self.attempts} tries)"
        return (
            f"{self.median_ms:.3g} ms median (IQR {self.iqr_ms:.2g} ms, {self.runs} runs; "
            f"{self.conditions}){flag if self.noisy else ''}"
        )


def all_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _ort_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def check_runtime(runtime: str, device: str) -> None:
    """Refuse a runtime that is not installed or a device this machine lacks, in one line."""
    if runtime not in RUNTIMES:
        raise SpecError(f"runtime {excerpt(runtime)} is not one of {', '.join(RUNTIMES)}")
    if device not in LATENCY_DEVICES:
        raise SpecError(f"device {excerpt(device)} is not one of {', '.join(LATENCY_DEVICES)}")
    if runtime == "ort" and importlib.util.find_spec("onnxruntime") is None:
        raise SpecError(
            "runtime 'ort' needs ONNX Runtime, which is not installed; pip install onnxruntime "
            "(or onnxruntime-gpu for cuda), or use --runtime torch"
        )
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecError(
            "device 'cuda' was asked for but torch.cuda.is_available() is False on this machine; "
            "use --device cpu, or run on a machine with a CUDA GPU"
        )
    if runtime == "ort" and device == "cuda" and "CUDAExecutionProvider" not in _ort_providers():
        raise SpecError(
            "ONNX Runtime here has no CUDAExecutionProvider (the CPU wheel is installed); pip install "
            "onnxruntime-gpu, or use --runtime torch --device cuda"
        )


def check_devices(devices: Sequence[str]) -> tuple[str, ...]:
    """Validate device names; ``cuda`` must be present on this machine."""
    out: list[str] = []
    for d in devices:
        check_runtime("torch", d)
        if d not in out:
            out.append(d)
    if not out:
        raise SpecError("no device given; use e.g. --devices cpu")
    return tuple(out)


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return all_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise SpecError(f"--threads {threads!r} must be an integer ≥ 1 (or leave it out for all cores)")
    return threads


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _blocks(run: Callable[[], object], min_run_time: float) -> tuple[list[float], int]:
    """Seconds per call of ``run`` in each timed block, and the calls per block."""
    for _ in range(WARMUP):
        run()
    once = math.inf
    for _ in range(3):
        start = time.perf_counter()
        run()
        once = min(once, time.perf_counter() - start)
    number = max(1, int(BLOCK_S / max(once, 1e-9)))
    times: list[float] = []
    while len(times) < MIN_BLOCKS or sum(times) * number < min_run_time:
        start = time.perf_counter()
        for _ in range(number):
            run()
        times.append((time.perf_counter() - start) / number)
    return times, number


def _steadiest(
    run: Callable[[], object], min_run_time: float, max_iqr_fraction: float, attempts: int
) -> tuple[float, float, int, int, bool]:
    """``(median_s, iqr_s, runs, attempts, noisy)``: measured again while the IQR exceeds
    ``max_iqr_fraction`` of the median, the steadiest attempt kept."""
    best: tuple[float, float, int] | None = None
    tries = 0
    for tries in range(1, attempts + 1):  # noqa: B007 - the count is reported
        times, number = _blocks(run, min_run_time)
        q1, median, q3 = statistics.quantiles(times, n=4, method="inclusive")
        if best is None or (q3 - q1) / median < best[1] / best[0]:
            best = (median, q3 - q1, len(times) * number)
        if best[1] <= max_iqr_fraction * best[0]:
            break
    assert best is not None
    return best[0], best[1], best[2], tries, best[1] > max_iqr_fraction * best[0]


def _ort_runner(onnx_bytes: bytes, device: str, threads: int, x: np.ndarray) -> Callable[[], object]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    session = ort.InferenceSession(onnx_bytes, options, providers=providers)
    feeds = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feeds)


def time_network(
    network: Network,
    runtime: str = "ort",
    device: str = "cpu",
    batch: int = 1,
    threads: int | None = None,
    model: torch.nn.Module | None = None,
    min_run_time: float = 0.2,
    max_iqr_fraction: float = MAX_IQR_FRACTION,
    attempts: int = ATTEMPTS,
    onnx_file: bytes | None = None,
) -> Latency:
    """Latency of ``network`` at its own input resolution (build it at the deployment size), batch
    ``batch``, on ``runtime`` and ``device`` with ``threads`` CPU threads (default: all cores).
    ``model``: its torch twin, when already built (or trained; the weights do not change the
    time)."""
    check_runtime(runtime, device)
    threads = _check_threads(threads)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"--batch {batch!r} must be an integer ≥ 1")
    from costmodel.torch_build import build

    if model is None:
        torch.manual_seed(0)
        model = build(network)
    model = model.eval()
    shape = network.input_shape
    with _torch_threads(threads):
        if runtime == "ort":
            from search.export import export_onnx

            x = np.random.default_rng(0).standard_normal((batch, *shape), dtype=np.float32)
            data = export_onnx(network, batch, model) if onnx_file is None else onnx_file
            run = _ort_runner(data, device, threads, x)
            median, iqr, runs, tries, noisy = _steadiest(run, min_run_time, max_iqr_fraction, attempts)
        else:
            model = model.to(device)
            run = _eager_runner(model, torch.randn(batch, *shape, device=device), device)
            with torch.inference_mode():
                median, iqr, runs, tries, noisy = _steadiest(run, min_run_time, max_iqr_fraction, attempts)
            model.to("cpu")
    return Latency(
        device, median * 1e3, iqr * 1e3, batch, threads, runs, runtime, (shape.h, shape.w), tries, noisy
    )


def _eager_runner(model: torch.nn.Module, x: torch.Tensor, device: str) -> Callable[[], object]:
    """One eager forward pass of ``model`` on ``x``, waiting for the GPU so a timer sees all of it."""

    def run() -> object:
        out = model(x)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    return run


def measure_latency(
    model: torch.nn.Module,
    shape: tuple[int, int, int],
    device: str = "cpu",
    batch_size: int = 1,
    threads: int | None = None,
    min_run_time: float = 0.2,
) -> Latency:
    """Eager-torch latency of an already built ``model`` on a ``batch_size``×``shape`` input (the
    study's measurement before issue 11; ``time_network`` is the one as deployed)."""
    check_runtime("torch", device)
    threads = _check_threads(threads)
    model = model.to(device).eval()
    run = _eager_runner(model, torch.randn(batch_size, *shape, device=device), device)
    with _torch_threads(threads), torch.inference_mode():
        median, iqr, runs, tries, noisy = _steadiest(run, min_run_time, MAX_IQR_FRACTION, ATTEMPTS)
    return Latency(
        device, median * 1e3, iqr * 1e3, batch_size, threads, runs, "torch", shape[1:], tries, noisy
    )


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's ρ: the Pearson correlation of the ranks (ties averaged); NaN when fewer than
    two pairs or when either side is constant."""
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} values against {len(ys)}")
    if len(xs) < 2:
        return math.nan
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class LatencyReport:
    """What ``cspcost latency`` measured: one model at its deployment resolution, its analytic
    MACs and CIO (conv and pool layers, elements, batch 1) beside one latency per thread count."""

    model: str
    input_size: tuple[int, int]
    macs: int
    cio: int
    latencies: tuple[Latency, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input": list(self.input_size),
            "macs": self.macs,
            "cio_conv_pool": self.cio,
            "conventions": {
                "latency": "median and IQR in ms per batch over timed blocks after warm-up",
                "macs": "fused multiply-adds of conv and linear layers, batch 1",
                "max_iqr_fraction": MAX_IQR_FRACTION,
            },
            "latencies": [lat.as_dict() for lat in self.latencies],
        }


def time_model(
    spec: ModelSpec,
    runtime: str = "ort",
    device: str = "cpu",
    threads: Sequence[int] | None = None,
    batch: int = 1,
    min_run_time: float = 0.2,
) -> LatencyReport:
    """``cspcost latency``: time ``spec`` (a model word, cfg or design) at its deployment
    resolution on ``runtime``/``device``, once per thread count (default: 1 thread and all cores).
    Every option is checked before anything is built."""
    check_runtime(runtime, device)
    counts = [_check_threads(t) for t in threads] if threads else [1, all_cores()]
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"--batch {batch!r} must be an integer ≥ 1")
    from costmodel import analyze
    from costmodel.specs import load_network
    from costmodel.torch_build import build

    network = load_network(spec)
    totals = analyze(network).totals
    torch.manual_seed(0)
    model = build(network)
    onnx_file = None
    if runtime == "ort":  # export once, before any timing: an unexportable layer fails fast
        from search.export import export_onnx

        onnx_file = export_onnx(network, batch, model)
    lats = tuple(
        time_network(network, runtime, device, batch, n, model, min_run_time, onnx_file=onnx_file)
        for n in dict.fromkeys(counts)
    )
    shape = network.input_shape
    return LatencyReport(spec.label, (shape.h, shape.w), totals.macs, totals.cio_conv_pool, lats)
