"""The deployed network as an ONNX file: the torch twin of an engine ``Network``, exported at the
resolution it is deployed at.

Latency that ranks designs has to be taken on a runtime people deploy with (ONNX Runtime), not on
eager PyTorch, whose per-layer Python dispatch dominates a small network (issue 11 measured eager
torch 23–160× slower than ONNX Runtime on the same designs). The ONNX file is also what a user takes
away from a search. The exporter is torch's TorchScript-based ``torch.onnx.export(dynamo=False)``:
it needs only the ``onnx`` package (the dynamo exporter would add ``onnxscript`` and is several
times slower on a DenseNet's hundreds of layers). When the whole network does not export, each
layer is exported on its own, at its own input shapes, to name the one that fails.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from costmodel import Network, SpecError
from costmodel.layer import Layer

__all__ = ["OPSET", "export_onnx", "unexportable_layer"]

OPSET = 17
"""ONNX opset of the exported files: ONNX Runtime ≥ 1.12 runs it, and every layer kind of the engine
(conv, BN, pools, concat, slice, add, linear, activations incl. Mish) has an operator in it."""


@contextmanager
def _silenced() -> Iterator[None]:
    """File descriptors 1 and 2 to /dev/null: torch 2.13's TorchScript exporter always enables its
    C++ log (``setup_onnx_logging`` tests a function object, which is always true) and dumps the
    whole graph when an export fails; the user gets our one line instead."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
        yield
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def _export(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), _silenced():
        # The TorchScript exporter warns that it is deprecated in favour of dynamo; see the docstring.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            inputs,
            buf,  # type: ignore[arg-type]  # the TorchScript exporter writes to any binary file object
            input_names=[f"input{i}" if i else "input" for i in range(len(inputs))],
            output_names=["output"],
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    return buf.getvalue()


def unexportable_layer(network: Network, batch: int = 1) -> tuple[Layer, str] | None:
    """The first layer of ``network`` that the ONNX exporter cannot export on its own, with the
    exporter's first line of complaint; ``None`` when every layer exports."""
    from costmodel.torch_build import _module

    for layer in network.layers:
        module = _module(layer)
        inputs = tuple(torch.zeros(batch, *s) for s in layer.in_shapes)
        if layer.kind == "linear":  # a linear layer reads its input flattened
            inputs = tuple(t.flatten(1) for t in inputs)
        try:
            _export(module, inputs)
        except Exception as err:
            return layer, (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
    return None


def export_onnx(network: Network, batch: int = 1, model: nn.Module | None = None) -> bytes:
    """The ONNX file (bytes) of ``network``'s torch twin at the network's own input resolution and
    ``batch``; ``model`` is that twin when the caller has built (or trained) it already.

    Raises ``SpecError`` naming the layer the exporter cannot export.
    """
    from costmodel.torch_build import build

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"batch {batch!r} must be an integer ≥ 1")
    model = build(network) if model is None else model
    shape = network.input_shape
    was_training = model.training
    try:
        return _export(model, (torch.zeros(batch, shape.c, shape.h, shape.w),))
    except Exception as err:
        culprit = unexportable_layer(network, batch)
        if culprit is None:
            why = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
            raise SpecError(
                f"the ONNX exporter cannot export {network.name} (every layer exports on its own): {why}"
            ) from None
        layer, why = culprit
        raise SpecError(
            f"the ONNX exporter cannot export layer {layer.name!r} (kind {layer.kind}) of "
            f"{network.name}: {why}; time it with --runtime torch instead"
        ) from None
    finally:
        model.train(was_training)
