"""``Cost``: the value type every formula returns, and that layers, stages and networks share.

Costs add with ``+``, so a stage total is ``sum(rows, Cost())`` and a network total is the same. Every
field is an integer count (batch 1) whose unit is in its name; bytes and ratios are derived from these
counts by ``costmodel.analyze.Profile`` at a chosen precision.

Worked example: a 3×3 conv from 64×56×56 to 128×56×56 without bias has
``macs = 64·128·3·3·56·56 = 231,211,008``, ``params = params_conv = 64·128·9 = 73,728``,
``cio_conv = 64·56·56 + 128·56·56 = 602,112`` and ``flops_darknet = flops_darknet_current = 2·macs``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["COST_FIELDS", "Cost"]


class Cost(NamedTuple):
    """Counts for one layer or a sum of layers. ``+`` adds field by field (not tuple concatenation)."""

    macs: int = 0
    """Fused multiply-adds of conv and linear layers (fvcore's "flops")."""
    flops_other: int = 0
    """Arithmetic besides the MACs: BN 2/element, activations 1/element, adds, pooling, biases."""
    params: int = 0
    """All learnable parameters (weights, biases, BN affine)."""
    params_conv: int = 0
    """Conv and classifier weights only: no BN, no bias (the CSPNet README's #Parameter)."""
    cio_conv: int = 0
    """HarDNet's CIO, conv scope: input + output elements of conv (and classifier) layers."""
    cio_conv_pool: int = 0
    """CIO, conv+pool scope: as ``cio_conv`` plus max-, average- and global pools."""
    concat_elements: int = 0
    """Elements a concatenation reads plus the elements it writes."""
    flops_darknet: int = 0
    """darknet's count as the CSPNet authors' 2019 darknet printed it: 2·conv MACs (÷32 for XNOR
    convs) + k²·C·H_out·W_out for max and local average pools; ``[connected]`` counts 0."""
    read_elements: int = 0
    """Activation elements read (every input tensor, whole)."""
    write_elements: int = 0
    """Activation elements written (the output tensor)."""
    flops_darknet_current: int = 0
    """darknet's count today (AlexeyAB 59596d7): ``flops_darknet`` plus its ``[shortcut]`` term,
    ``out_w·out_h·out_c·n_from`` (doubled when the shortcut is weighted)."""

    def __add__(self, other: object) -> Cost:  # type: ignore[override]
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(*[a + b for a, b in zip(self, other)])

    def __radd__(self, other: object) -> Cost:
        # sum() starts from the int 0.
        if other == 0:
            return self
        return NotImplemented

    # A Cost is a record, not a sequence: no repetition (``Cost() * 2`` would be a 20-tuple) and no
    # equality with a plain tuple of the same numbers.
    def __mul__(self, other: object) -> Cost:  # type: ignore[override]
        return NotImplemented

    def __rmul__(self, other: object) -> Cost:  # type: ignore[override]
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        # False, not NotImplemented: Python would then ask the plain tuple, which says equal.
        return isinstance(other, Cost) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    @property
    def flops(self) -> int:
        """``2 · macs``: one multiply and one add per MAC."""
        return 2 * self.macs

    def as_dict(self) -> dict[str, int]:
        return self._asdict()


COST_FIELDS: tuple[str, ...] = Cost._fields
