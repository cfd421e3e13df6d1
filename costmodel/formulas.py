"""The cost formula of each layer kind: one small pure function per kind, registered by decorator.

This registry is the single source of truth: ``analyze`` looks a layer's kind up here, and a kind
without an entry is reported as *unsupported* by name, never counted as zero. Kinds that cost nothing
by definition (a flatten, a dropout at inference) are registered and return zeros on purpose.

Conventions (see ``costmodel.cost.Cost`` for the fields):

- conv ``macs = (C_in/groups)·C_out·k²·H_out·W_out``; ``flops_other`` adds 1 per output element for a
  bias. A fully connected layer is a 1×1 conv on a 1×1 map for every count (darknet's classifier is).
- BN charges 2 operations per element (scale and shift, as fvcore does in eval mode); an activation 1
  per element (``linear`` 0); an add ``n−1`` per output element; a pool ``k²`` per output element
  (darknet's rule); a global pool 1 per input element (fvcore's rule); softmax 3 per element.
- CIO, conv scope: conv and classifier layers. Conv+pool scope: also max-, average- and global pools.
- Concatenation traffic: the inputs read plus the output written. A split is a view and moves nothing.

Note [darknet BFLOPs]: darknet's ``l.bflops`` for a conv is ``2·(C_in/groups)·C_out·k²·H_out·W_out``
(``convolutional_layer.c``), for ``[maxpool]`` and a local ``[avgpool]`` ``k²·C·H_out·W_out``
(``maxpool_layer.c``); BN, activations, route, shortcut, global avgpool and softmax add nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from costmodel.cost import Cost
from costmodel.graph import Layer

__all__ = ["FORMULAS", "register"]

Formula = Callable[[Layer], Cost]
FORMULAS: dict[str, Formula] = {}


def register(*kinds: str) -> Callable[[Formula], Formula]:
    """Register ``fn`` as the formula of ``kinds``; a kind registered twice is an error."""

    def deco(fn: Formula) -> Formula:
        for kind in kinds:
            if kind in FORMULAS:
                raise RuntimeError(f"a cost formula for layer kind {kind!r} is already registered")
            FORMULAS[kind] = fn
        return fn

    return deco


# Costs are built positionally (3× faster than keywords; a profile builds hundreds), in the field
# order of ``Cost``: macs, flops_other, params, params_conv, cio_conv, cio_conv_pool,
# concat_elements, flops_darknet, read_elements, write_elements.
_new = tuple.__new__


@register("conv")
def conv(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c_out, h_out, w_out = layer.out_shape
    out = c_out * h_out * w_out
    weights = (s[0] // layer.groups) * c_out * layer.kernel * layer.kernel
    macs = weights * h_out * w_out
    inp = s[0] * s[1] * s[2]
    bias = c_out if layer.bias else 0
    io = inp + out
    other = out if layer.bias else 0
    return _new(Cost, (macs, other, weights + bias, weights, io, io, 0, 2 * macs, inp, out))


@register("linear")
def linear(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    n_in = s[0] * s[1] * s[2]
    n_out = layer.out_shape[0]
    weights = n_in * n_out
    bias = n_out if layer.bias else 0
    io = n_in + n_out
    return _new(Cost, (weights, bias, weights + bias, weights, io, io, 0, 2 * weights, n_in, n_out))


@register("bn")
def batch_norm(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    # scale and shift per element; weight and bias per channel
    return _new(Cost, (0, 2 * n, 2 * c, 0, 0, 0, 0, 0, n, n))


@register("act")
def activation(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    return _new(Cost, (0, 0 if layer.op == "linear" else n, 0, 0, 0, 0, 0, 0, n, n))


@register("maxpool", "avgpool")
def pool(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c, h, w = layer.out_shape
    inp, out = s[0] * s[1] * s[2], c * h * w
    ops = layer.kernel * layer.kernel * out  # one compare or add per window element
    return _new(Cost, (0, ops, 0, 0, 0, inp + out, 0, ops, inp, out))


@register("gap")
def global_pool(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    inp, out = s[0] * s[1] * s[2], s[0]
    return _new(Cost, (0, inp, 0, 0, 0, inp + out, 0, 0, inp, out))


@register("concat")
def concat(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    # every input is copied once into the output: reads = writes = the output's size
    out = c * h * w
    return _new(Cost, (0, 0, 0, 0, 0, 0, 2 * out, 0, out, out))


@register("add")
def add(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    out = c * h * w
    n = len(layer.in_shapes)
    return _new(Cost, (0, (n - 1) * out, 0, 0, 0, 0, 0, 0, n * out, out))


@register("softmax")
def softmax(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    return _new(Cost, (0, 3 * n, 0, 0, 0, 0, 0, 0, n, n))


@register("split", "flatten", "dropout")
def view(layer: Layer) -> Cost:
    """Views and inference-time identities: no arithmetic and no traffic, by definition."""
    return Cost()
