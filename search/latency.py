"""Measured inference latency of a built model on a target device.

``torch.utils.benchmark.Timer`` with explicit warm-up runs, then repeated blocks of runs (each block
about 5 ms, at least 7 blocks): the median and the interquartile range over the blocks, never one
run. A shared, noisy machine stalls now and then; the median ignores a stall, the IQR shows it.
Batch size and the number of CPU threads travel with every measurement, because both change the
answer (the CSPNet paper reports frames per second at a stated batch size on each device).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils import benchmark

from costmodel import SpecError

__all__ = ["LATENCY_DEVICES", "Latency", "check_devices", "measure_latency"]

LATENCY_DEVICES: tuple[str, ...] = ("cpu", "cuda")
BLOCK_S = 0.005
MIN_BLOCKS = 7


@dataclass(frozen=True)
class Latency:
    device: str
    median_ms: float
    iqr_ms: float
    batch_size: int
    threads: int
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_devices(devices: Sequence[str]) -> tuple[str, ...]:
    """Validate device names; ``cuda`` must be present on this machine."""
    out: list[str] = []
    for d in devices:
        if d not in LATENCY_DEVICES:
            raise SpecError(f"device {d!r} is not one of {', '.join(LATENCY_DEVICES)}")
        if d == "cuda" and not torch.cuda.is_available():
            raise SpecError(
                "device 'cuda' was asked for but torch.cuda.is_available() is False on this "
                "machine; use --devices cpu, or run on a machine with a CUDA GPU"
            )
        if d not in out:
            out.append(d)
    if not out:
        raise SpecError("no device given; use e.g. --devices cpu")
    return tuple(out)


def measure_latency(
    model: torch.nn.Module,
    shape: tuple[int, int, int],
    device: str = "cpu",
    batch_size: int = 1,
    threads: int | None = None,
    warmup: int = 3,
    min_run_time: float = 0.2,
) -> Latency:
    """Median and IQR of one forward pass of ``model`` on a ``batch_size``×``shape`` input."""
    threads = threads or torch.get_num_threads()
    model = model.to(device).eval()
    x = torch.randn(batch_size, *shape, device=device)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        if device == "cuda":
            torch.cuda.synchronize()
        timer = benchmark.Timer("model(x)", globals={"model": model, "x": x}, num_threads=threads)
        once = min(timer.timeit(1).median for _ in range(3))
        number = max(1, int(BLOCK_S / max(once, 1e-9)))
        times: list[float] = []
        while len(times) < MIN_BLOCKS or sum(times) * number < min_run_time:
            times.append(timer.timeit(number).median)
    q1, median, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return Latency(device, median * 1e3, (q3 - q1) * 1e3, batch_size, threads, len(times) * number)
