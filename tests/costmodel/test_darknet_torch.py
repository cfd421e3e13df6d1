"""Torch twins of cfg networks agree with the reference counters (fvcore ``by_module``,
``FlopCounterMode``, ``sum(p.numel())``), and darknet's shape and shortcut rules hold in torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from darknet_paths import cfg_path, needs_cfgs  # noqa: E402
from test_darknet import README, SMALL  # noqa: E402

from costmodel import analyze  # noqa: E402
from costmodel.counters import (  # noqa: E402
    flop_counter_flops,
    fvcore_macs_by_module,
    param_count,
    sample_input,
)
from costmodel.darknet import load, parse  # noqa: E402
from costmodel.graph import Network  # noqa: E402
from costmodel.torch_build import build  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.torch]


def _agree(net: Network) -> None:
    profile = analyze(net)
    model = build(net).eval()
    x = sample_input(model, tuple(net.input_shape))
    assert param_count(model) == profile.totals.params
    assert flop_counter_flops(model, x) == 2 * profile.totals.macs
    by_module = fvcore_macs_by_module(model, x)
    for layer, cost in profile.rows():
        if layer.kind in ("conv", "linear"):
            assert by_module[layer.name] == cost.macs, layer.name
    # every module's output has the engine's shape
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=layer.name: shapes.__setitem__(n, o.shape))
        for layer in net.layers
        for m in [model.get_submodule(layer.name)]
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    for layer in net.layers:
        got = shapes[layer.name]
        want = (1, *layer.out_shape) if len(got) == 4 else (1, layer.out_shape.numel)
        assert tuple(got) == want, layer.name


def test_small_cfg_agrees_at_odd_sizes() -> None:
    _agree(parse(SMALL, "small.cfg"))
    _agree(parse(SMALL, "small.cfg", 13))  # 13 → maxpool in ceil mode → 7 → 4


def test_shortcut_zero_pads_and_subsamples_like_darknet() -> None:
    text = (
        "[net]\nwidth=8\nheight=8\nchannels=3\n"
        "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
        "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n"
        "[shortcut]\nfrom=-2\n"
    )
    model = build(parse(text, "z.cfg")).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        a = model.get_submodule("layers.0.conv")(x)
        b = model.get_submodule("layers.1.conv")(a)
        want = b.clone()
        # darknet's shortcut_cpu: out[k, j, i] += add[k, j·2, i·2] for k < min(c)
        want[:, :2] += a[:, :, ::2, ::2]
        assert torch.allclose(model(x), want)


@needs_cfgs
@pytest.mark.parametrize("name", [row[0] for row in README])
def test_authors_cfgs_agree_with_reference_counters(name: str) -> None:
    _agree(load(cfg_path(name), 64))
