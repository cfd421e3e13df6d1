"""Pins for the survivors of the mutation run that first showed up as hangs: with the parent's
OpenMP pool forked into mutmut's workers, their tests deadlocked and were counted as timeouts; run
with OMP_NUM_THREADS=1 they survived. Each expected value is arithmetic written here.

Left equivalent: ``conv_transpose`` mutmut_61 (its geometry's stride across, 0 → 1: the transposed
conv's shape rule, cost and torch twin read one stride only) and the blur's six (below)."""

from __future__ import annotations

from costmodel import analyze
from costmodel.graph import INPUT, GraphBuilder, Shape


def test_a_norm_that_shares_another_norms_weights_counts_them_once() -> None:
    """A module called twice (the tracer's ``shares=``) owns its scale and shift once.
    Kills graph.GraphBuilder.norm mutmut_23 (``shares`` not passed on)."""
    g = GraphBuilder("shared-norm", Shape(4, 6, 6))
    first = g.norm("n1", INPUT, groups=2)
    g.norm("n2", first, groups=2, shares="n1")
    p = analyze(g.build())
    by_name = {layer.name: cost for layer, cost in p.rows()}
    assert by_name["n1"].params == 2 * 4  # a scale and a shift per channel
    assert by_name["n2"].params == 0
    assert p.totals.params == 8


def test_a_blur_with_another_stride_across_keeps_its_shape() -> None:
    """darknet's antialiasing blur at stride 2 down and 1 across on 5×8×8: 3×3, padding 1, so
    (8 + 2 − 3) // 2 + 1 = 4 high and (8 + 2 − 3) // 1 + 1 = 8 wide; 3·3 MACs per output element.
    The blur's six survivors are equivalent: its shape rule, cost and torch twin read neither the
    geometry's end padding nor ``groups``; this holds what they do read."""
    g = GraphBuilder("blur", Shape(5, 8, 8))
    g.blur("b", INPUT, kernel=3, stride=2, stride_w=1)
    p = analyze(g.build())
    (layer,) = p.network.layers
    assert tuple(layer.out_shape) == (5, 4, 8)
    assert p.totals.macs == 9 * 5 * 4 * 8
    assert p.totals.params == 0
