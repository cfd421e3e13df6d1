"""Hypothesis properties: cost algebra, the paper's CIO closed forms, γ monotonicity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from costmodel import (
    COST_FIELDS,
    Cost,
    DenseNetConfig,
    PeleeNetConfig,
    analyze,
    dense_block_cio,
    expand,
    partial_dense_block_cio,
    split_channels,
)
from costmodel.families.densenet import dense_block_network

counts = st.integers(min_value=0, max_value=10**12)
costs = st.builds(lambda *v: Cost(*v), *[counts for _ in COST_FIELDS])


@given(costs, costs, costs)
def test_cost_addition_is_a_commutative_monoid(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert a + Cost() == a
    assert sum([a, b, c], Cost()) == a + b + c
    assert sum([a, b]) == a + b  # sum() starting from 0 works too
    assert (a + b).flops == 2 * (a.macs + b.macs)


@given(
    c=st.integers(1, 256),
    m=st.integers(1, 12),
    d=st.integers(1, 48),
    gamma=st.sampled_from([0.0, 0.25, 0.5, 0.75]) | st.floats(0.01, 0.95),
    h=st.integers(1, 32),
    w=st.integers(1, 32),
)
def test_cio_closed_forms_equal_the_layer_sum(c, m, d, gamma, h, w):
    p1, p2 = split_channels(c, gamma)
    if gamma > 0 and (p1 == 0 or p2 == 0):
        return  # rejected by the engine; covered in test_errors
    net = dense_block_network(c, m, d, gamma, h, w)
    layer_sum = analyze(net).totals.cio_conv
    assert layer_sum == partial_dense_block_cio(c, m, d, gamma, h, w)
    # Paper §3.1 written independently: Σ_j (c₂ + j·d + d)·w·h.
    assert layer_sum == sum((p2 + j * d + d) * h * w for j in range(m))
    if gamma == 0:
        assert layer_sum == dense_block_cio(c, m, d, h, w)


@given(c=st.integers(1, 128).map(lambda x: 2 * x), m=st.integers(1, 12), d=st.integers(1, 48))
def test_half_split_is_the_paper_formula(c, m, d):
    # ((c·m) + (m²+m)·d)/2, the paper's γ = 0.5 expression, on a 1×1 map.
    assert partial_dense_block_cio(c, m, d, 0.5, 1, 1) * 2 == c * m + (m * m + m) * d
    assert partial_dense_block_cio(c, m, d, 0.5, 1, 1) <= dense_block_cio(c, m, d, 1, 1)


gammas = st.lists(
    st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9]), min_size=2, max_size=2, unique=True
).map(sorted)


@given(gammas, st.sampled_from(["fusion_first", "fusion_last", "csp"]), st.sampled_from([8, 12, 16, 32]))
def test_larger_gamma_costs_no_more(pair, fusion, k):
    lo, hi = pair

    def macs(g: float) -> int:
        cfg = DenseNetConfig(
            growth_rate=k, block_config=(3, 4, 5), num_init_features=64, part_ratio=g, fusion=fusion
        )
        return analyze(expand(cfg, 96)).totals.macs

    assert macs(hi) <= macs(lo)


peleenet_gammas = st.lists(
    st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.6, 0.75]), min_size=2, max_size=2, unique=True
).map(sorted)


# Above γ = 0.75 fewer than 8 channels enter PeleeNet's first block and its dynamic bottleneck
# rule gives 0 channels, which the engine rejects (tests/costmodel/test_errors.py).
@given(peleenet_gammas, st.sampled_from(["fusion_first", "fusion_last", "csp"]))
def test_larger_gamma_costs_no_more_peleenet(pair, fusion):
    lo, hi = pair

    def macs(g: float) -> int:
        return analyze(expand(PeleeNetConfig(part_ratio=g, fusion=fusion), 224)).totals.macs

    assert macs(hi) <= macs(lo)


@given(st.integers(1, 4096), st.floats(0.0, 0.999))
def test_split_channels_partition(c, gamma):
    p1, p2 = split_channels(c, gamma)
    assert p1 + p2 == c and 0 <= p1 <= c
    assert abs(p1 - gamma * c) <= 0.5
