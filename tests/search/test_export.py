"""The deployed network as ONNX: it exports, ONNX Runtime computes what torch computes, and a layer
the exporter cannot export is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import costmodel.torch_build as tb
from costmodel import DenseNetConfig, SpecError, expand
from costmodel.torch_build import build
from search.export import export_onnx

pytestmark = pytest.mark.torch

SMALL = DenseNetConfig(
    growth_rate=4, block_config=(1, 2), num_init_features=8, part_ratio=0.5, fusion="csp", num_classes=10
)


def test_exported_file_computes_what_the_torch_twin_computes() -> None:
    import onnx
    import onnxruntime as ort

    network = expand(SMALL, 48)
    torch.manual_seed(0)
    model = build(network).eval()
    data = export_onnx(network, batch=2, model=model)
    onnx.checker.check_model(onnx.load_from_string(data))
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.shape == [2, 3, 48, 48]  # the deployment resolution and the batch, fixed in the file
    x = np.random.default_rng(1).standard_normal((2, 3, 48, 48), dtype=np.float32)
    (got,) = session.run(None, {inp.name: x})
    with torch.inference_mode():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert model.training is False  # export leaves the model as it found it (eval here)


@torch.library.custom_op("cspcost_test::opaque_mean", mutates_args=())
def _opaque_mean(x: torch.Tensor) -> torch.Tensor:
    """A custom operator without an ONNX symbolic: the exporter cannot export it."""
    return x.mean((2, 3))


@_opaque_mean.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return x.new_empty(x.shape[:2])


class _OpaqueGap(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _opaque_mean(x)


def test_a_layer_the_exporter_cannot_export_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tb.TORCH_MODULES, "gap", lambda layer: _OpaqueGap())
    network = expand(SMALL, 32)
    gap = [layer.name for layer in network.layers if layer.kind == "gap"]
    assert len(gap) == 1
    with pytest.raises(SpecError, match=rf"cannot export layer '{gap[0]}' \(kind gap\)"):
        export_onnx(network)


@pytest.mark.parametrize("batch", [0, -1, True], ids=["zero", "negative", "bool"])
def test_bad_batch(batch: int) -> None:
    with pytest.raises(SpecError, match="batch"):
        export_onnx(expand(SMALL, 32), batch=batch)
