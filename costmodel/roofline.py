"""The roofline model (Williams, Waterman & Patterson, CACM 2009): devices, and each layer of a
profile placed on a device's roof.

Devices for the roofline model (Williams, Waterman & Patterson, CACM 2009): peak arithmetic
rate and memory bandwidth, so a layer of arithmetic intensity ``I`` (FLOP/byte) can at best run at
``min(peak, bandwidth · I)``. The ridge point ``peak / bandwidth`` separates memory-bound from
compute-bound layers.

The presets are vendors' theoretical peaks (dense, no sparsity), not measurements; the source of
each number is in the comment beside it. ``fp16``/``bf16`` profiles use the half-precision peak
where the preset has one (tensor cores for GPUs), everything else the FP32 peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costmodel.analyze import Profile
from costmodel.derived import act_bytes, intensity, weight_bytes
from costmodel.errors import SpecError

__all__ = [
    "DEVICES",
    "Device",
    "Roofline",
    "RooflinePoint",
    "custom_device",
    "get_device",
    "pick_device",
    "roofline",
]


@dataclass(frozen=True)
class Device:
    name: str
    peak_flops: float
    """FP32 peak, FLOP/s"""
    bandwidth: float
    """DRAM bandwidth, bytes/s"""
    peak_flops_half: float | None = None
    """fp16/bf16 peak, FLOP/s, where the device has a faster half-precision path"""
    source: str = "user-given"

    def peak(self, precision: str = "fp32") -> float:
        if precision in ("fp16", "bf16") and self.peak_flops_half is not None:
            return self.peak_flops_half
        return self.peak_flops

    def ridge(self, precision: str = "fp32") -> float:
        """Arithmetic intensity (FLOP/byte) above which a layer is compute-bound."""
        return self.peak(precision) / self.bandwidth


DEVICES: dict[str, Device] = {
    # NVIDIA H100 SXM5 datasheet: FP32 67 TFLOP/s, FP16 tensor 989 TFLOP/s dense, HBM3 3.35 TB/s.
    "h100-sxm": Device("NVIDIA H100 SXM", 67e12, 3.35e12, 989e12, "NVIDIA H100 datasheet"),
    # NVIDIA A100 80GB SXM datasheet: FP32 19.5 TFLOP/s, FP16 tensor 312 TFLOP/s, HBM2e 2,039 GB/s.
    "a100-sxm": Device("NVIDIA A100 80GB SXM", 19.5e12, 2.039e12, 312e12, "NVIDIA A100 datasheet"),
    # NVIDIA V100 SXM2 datasheet: FP32 15.7 TFLOP/s, tensor 125 TFLOP/s, HBM2 900 GB/s.
    "v100-sxm": Device("NVIDIA V100 SXM2", 15.7e12, 0.9e12, 125e12, "NVIDIA V100 datasheet"),
    # NVIDIA T4 datasheet: FP32 8.1 TFLOP/s, FP16 tensor 65 TFLOP/s, GDDR6 320 GB/s.
    "t4": Device("NVIDIA T4", 8.1e12, 320e9, 65e12, "NVIDIA T4 datasheet"),
    # NVIDIA Jetson Nano module datasheet: 472 GFLOP/s FP16 (so 236 FP32), LPDDR4 25.6 GB/s.
    "jetson-nano": Device("NVIDIA Jetson Nano", 236e9, 25.6e9, 472e9, "Jetson Nano datasheet"),
    # Intel Xeon Platinum 8380 (Ice Lake-SP): 40 cores · 2.3 GHz base · 2 AVX-512 FMA units
    # · 16 FP32 lanes · 2 FLOP = 2.94 TFLOP/s; 8 channels DDR4-3200 · 8 B = 204.8 GB/s (Intel ARK).
    "xeon-8380": Device(
        "Intel Xeon Platinum 8380",
        40 * 2.3e9 * 2 * 16 * 2,
        8 * 3200e6 * 8,
        None,
        "Intel ARK; peak = cores·GHz·FMA units·lanes·2",
    ),
    # A typical 8-core AVX2 desktop: 8 cores · 3.0 GHz · 2 FMA units · 8 FP32 lanes · 2 FLOP = 768
    # GFLOP/s; dual-channel DDR4-3200 = 51.2 GB/s.
    "desktop-avx2": Device(
        "8-core AVX2 desktop CPU",
        8 * 3.0e9 * 2 * 8 * 2,
        2 * 3200e6 * 8,
        None,
        "cores·GHz·FMA units·lanes·2; DDR4-3200 dual channel",
    ),
    # Raspberry Pi 4 (4× Cortex-A72, 1.5 GHz, one 128-bit NEON FMA per cycle: 4 lanes · 2 FLOP):
    # 4 · 1.5e9 · 8 = 48 GFLOP/s; LPDDR4-3200 on a 32-bit bus = 12.8 GB/s.
    "raspberry-pi4": Device(
        "Raspberry Pi 4 (Cortex-A72)",
        4 * 1.5e9 * 8,
        3200e6 * 4,
        None,
        "Arm Cortex-A72 TRM; Raspberry Pi 4 product brief",
    ),
}


def get_device(name: str) -> Device:
    try:
        return DEVICES[name]
    except KeyError:
        raise SpecError(
            f"unknown device {name!r}; use one of {', '.join(DEVICES)} or give "
            f"PEAK_GFLOPS,BANDWIDTH_GBS such as 500,25"
        ) from None


def custom_device(peak_gflops: float, bandwidth_gbs: float, name: str = "custom device") -> Device:
    """A device from user-given numbers: peak in GFLOP/s, bandwidth in GB/s (both positive and
    finite, in FLOP/s and bytes/s too, and so is their ratio, the ridge point)."""
    for label, v, unit in (("peak", peak_gflops, "GFLOP/s"), ("bandwidth", bandwidth_gbs, "GB/s")):
        if not (math.isfinite(v) and v > 0 and math.isfinite(v * 1e9)):
            raise SpecError(
                f"device {label} {v!r} {unit} must be a positive, finite number; use e.g. 500,25 "
                f"(500 GFLOP/s, 25 GB/s)"
            )
    ridge = peak_gflops / bandwidth_gbs
    if not (math.isfinite(ridge) and ridge > 0):
        raise SpecError(
            f"device {peak_gflops!r} GFLOP/s over {bandwidth_gbs!r} GB/s has no finite, positive ridge "
            f"point (FLOP per byte); give figures of a real device, e.g. 500,25"
        )
    return Device(name, peak_gflops * 1e9, bandwidth_gbs * 1e9, None, "user-given")


def pick_device(text: str) -> Device:
    """A preset by name, or ``"PEAK_GFLOPS,BANDWIDTH_GBS"`` for a device of one's own (e.g.
    ``"500,25"``: 500 GFLOP/s and 25 GB/s)."""
    if text in DEVICES:
        return DEVICES[text]
    peak, comma, bandwidth = text.partition(",")
    if not comma:
        return get_device(text)
    try:
        figures = float(peak), float(bandwidth)
    except ValueError:
        raise SpecError(
            f"device {text[:60]!r} is not PEAK_GFLOPS,BANDWIDTH_GBS; use e.g. 500,25 or a "
            f"preset: {', '.join(DEVICES)}"
        ) from None
    # outside the try: SpecError is a ValueError, and its message says what is wrong
    return custom_device(*figures, f"custom ({peak.strip()} GFLOP/s, {bandwidth.strip()} GB/s)")


@dataclass(frozen=True)
class RooflinePoint:
    """One layer on the roof. ``work`` is flops + flops_other (FLOP), ``moved`` every activation
    and weight byte (traffic), ``attainable = min(peak, bandwidth · intensity)`` FLOP/s,
    ``time_s = max(work / peak, moved / bandwidth)``; ``bound`` is the side of the ridge point."""

    name: str
    kind: str
    stage: str
    work: int
    moved: int
    intensity: float
    attainable: float
    time_s: float
    bound: str


@dataclass(frozen=True)
class Roofline:
    """Every layer of one profile that does arithmetic, on one device's roofline."""

    model: str
    device: Device
    precision: str
    points: tuple[RooflinePoint, ...]

    @property
    def peak(self) -> float:
        return self.device.peak(self.precision)

    @property
    def ridge(self) -> float:
        return self.device.ridge(self.precision)

    @property
    def memory_bound(self) -> tuple[RooflinePoint, ...]:
        return tuple(p for p in self.points if p.bound == "memory")

    @property
    def time_s(self) -> float:
        """Estimated time of the whole network: the sum over its layers."""
        return sum(p.time_s for p in self.points)


def roofline(profile: Profile, device: Device) -> Roofline:
    """Place each layer of ``profile`` that does arithmetic on ``device``'s roofline."""
    peak, bw = device.peak(profile.precision), device.bandwidth
    b = profile.bytes_per_element
    ridge = peak / bw
    points = []
    for layer, cost in profile.rows():
        work = 2 * cost.macs + cost.flops_other
        moved = act_bytes(cost, b) + weight_bytes(cost, b)
        if work == 0 or moved == 0:
            continue
        i = intensity(cost, b)
        bound = "compute" if i >= ridge else "memory"
        point = RooflinePoint(
            layer.name,
            layer.kind,
            layer.stage,
            work,
            moved,
            i,
            min(peak, bw * i),
            max(work / peak, moved / bw),
            bound,
        )
        points.append(point)
    return Roofline(profile.name, device, profile.precision, tuple(points))
