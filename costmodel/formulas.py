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


def _io(layer: Layer) -> tuple[int, int]:
    inp = 0
    for s in layer.in_shapes:
        inp += s.c * s.h * s.w
    o = layer.out_shape
    return inp, o.c * o.h * o.w


@register("conv")
def conv(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c_out, h_out, w_out = layer.out_shape
    out = c_out * h_out * w_out
    k2 = layer.kernel * layer.kernel
    weights = (s.c // layer.groups) * c_out * k2
    macs = weights * h_out * w_out
    inp = s.c * s.h * s.w
    bias = c_out if layer.bias else 0
    return Cost(
        macs=macs,
        flops_other=out if layer.bias else 0,
        params=weights + bias,
        params_conv=weights,
        cio_conv=inp + out,
        cio_conv_pool=inp + out,
        flops_darknet=2 * macs,
        read_elements=inp,
        write_elements=out,
    )


@register("linear")
def linear(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    n_in = s.c * s.h * s.w
    n_out = layer.out_shape.c
    weights = n_in * n_out
    bias = n_out if layer.bias else 0
    return Cost(
        macs=weights,
        flops_other=bias,
        params=weights + bias,
        params_conv=weights,
        cio_conv=n_in + n_out,
        cio_conv_pool=n_in + n_out,
        flops_darknet=2 * weights,
        read_elements=n_in,
        write_elements=n_out,
    )


@register("bn")
def batch_norm(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(flops_other=2 * out, params=2 * layer.out_shape.c, read_elements=inp,
                write_elements=out)


@register("act")
def activation(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(flops_other=0 if layer.op == "linear" else out, read_elements=inp,
                write_elements=out)


@register("maxpool", "avgpool")
def pool(layer: Layer) -> Cost:
    inp, out = _io(layer)
    ops = layer.kernel * layer.kernel * out
    return Cost(flops_other=ops, cio_conv_pool=inp + out, flops_darknet=ops, read_elements=inp,
                write_elements=out)


@register("gap")
def global_pool(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(flops_other=inp, cio_conv_pool=inp + out, read_elements=inp, write_elements=out)


@register("concat")
def concat(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(concat_elements=inp + out, read_elements=inp, write_elements=out)


@register("add")
def add(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(flops_other=(len(layer.in_shapes) - 1) * out, read_elements=inp,
                write_elements=out)


@register("softmax")
def softmax(layer: Layer) -> Cost:
    inp, out = _io(layer)
    return Cost(flops_other=3 * out, read_elements=inp, write_elements=out)


@register("split", "flatten", "dropout")
def view(layer: Layer) -> Cost:
    """Views and inference-time identities: no arithmetic and no traffic, by definition."""
    return Cost()
