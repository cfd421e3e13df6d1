"""The CSPNet paper's closed forms for the CIO of a dense block (§3.1), as exact integer functions.

For a dense block of ``m`` plain layers (each a k×k conv producing ``d`` channels from everything before
it), base channels ``c`` and a ``w×h`` map, layer ``j`` (0-based) reads ``c + j·d`` channels and writes
``d``, so its CIO is ``(c + (j+1)·d)·w·h``. Summed over the block:

- DenseNet: ``(c·m + (m²+m)·d/2) · w·h``
- partial dense block: only ``c₂ = c − round(γ·c)`` channels enter the block, so
  ``(c₂·m + (m²+m)·d/2) · w·h``; with γ = 0.5 and even ``c`` this is the paper's
  ``((c·m) + (m²+m)·d)/2 · w·h`` — "at most half" the DenseNet figure.

``(m²+m)·d`` is always even, so these are integers. The engine rounds ``γ·c`` exactly as
``costmodel.families.common.split_channels`` does; tests prove both equal the per-layer sum.
"""

from __future__ import annotations

from costmodel.families.common import split_channels

__all__ = ["dense_block_cio", "partial_dense_block_cio"]


def dense_block_cio(c: int, m: int, d: int, h: int, w: int) -> int:
    """CIO of a DenseNet dense block: ``(c·m + (m²+m)·d/2)·w·h`` elements."""
    return (c * m + (m * m + m) * d // 2) * h * w


def partial_dense_block_cio(c: int, m: int, d: int, gamma: float, h: int, w: int) -> int:
    """CIO of a partial dense block with partial ratio ``gamma``: ``((1−γ)·c·m + (m²+m)·d/2)·w·h``,
    with ``(1−γ)·c`` rounded as the engine rounds channel splits."""
    _, c2 = split_channels(c, gamma)
    return dense_block_cio(c2, m, d, h, w)
