"""``cspcost latency`` as text or JSON: each measurement with the conditions it was taken under
(runtime, device, threads, batch, resolution), beside the model's analytic MACs and CIO."""

from __future__ import annotations

import json

from search.latency import MAX_IQR_FRACTION, LatencyReport

__all__ = ["render_latency"]


def render_latency(report: LatencyReport, fmt: str = "table") -> str:
    """``fmt``: ``json`` (the ``LatencyReport.to_dict`` contract) or anything else for text lines."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    h, w = report.input_size
    lines = [
        f"{report.model} at {h}×{w} px: {2 * report.macs / 1e6:,.1f} MFLOPs (2·MACs, batch 1), "
        f"CIO {report.cio / 1e6:,.2f} M elements (conv+pool, batch 1)",
        f"latency: median and IQR in ms per batch over timed blocks after warm-up; NOISY = IQR above "
        f"{MAX_IQR_FRACTION:.0%} of the median after every retry",
    ]
    lines += [f"  {lat}" for lat in report.latencies]
    return "\n".join(lines) + "\n"
