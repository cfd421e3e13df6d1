"""The torch-free layer graph that every model expands into.

A ``Network`` is a tuple of ``Layer`` records in execution order, each knowing the shapes of the tensors
it reads and writes (batch 1, channels-height-width). Layer names are dotted paths equal to the module
names of the torch model that ``costmodel.torch_build`` makes from the same graph, so per-layer numbers
from the engine and from fvcore compare as dictionaries.

``GraphBuilder`` is how families and the darknet reader write a graph: each call adds one layer, checks
its input, infers its output shape and returns the new layer's name to feed the next call.

Layer kinds (the formulas for each live in ``costmodel.formulas``):

=========  ==========================================================================
conv       2-D convolution (``kernel``, ``stride``, ``padding``, ``groups``, ``bias``)
linear     fully connected on a flattened ``C×1×1`` input
bn         batch normalisation
act        element-wise activation named by ``op`` (relu, leaky, mish, swish, logistic, linear)
maxpool    max pooling (``kernel``, ``stride``, ``padding``, ``ceil_mode``)
avgpool    local average pooling, same fields
gap        global average pooling to ``C×1×1``
concat     channel concatenation of two or more inputs (``torch.cat(dim=1)``)
split      a channel slice ``[start, stop)`` of one input, kept in ``slice_``
add        element-wise sum of inputs of one shape (residual shortcut)
flatten    ``C×1×1`` to a vector, kept as ``C×1×1``
dropout    identity at inference
softmax    softmax over channels
=========  ==========================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from costmodel.errors import SpecError

__all__ = ["INPUT", "LAYER_KINDS", "GraphBuilder", "Layer", "Network", "Shape"]

INPUT = ""
"""The name by which a layer refers to the network's input tensor."""

LAYER_KINDS = (
    "conv",
    "linear",
    "bn",
    "act",
    "maxpool",
    "avgpool",
    "gap",
    "concat",
    "split",
    "add",
    "flatten",
    "dropout",
    "softmax",
)

ACTIVATIONS = ("relu", "leaky", "mish", "swish", "logistic", "linear")
_ACTIVATION_SET = frozenset(ACTIVATIONS)
_NO_SLICE = (0, 0)
# Hot paths build Layers with tuple.__new__ and every field in order (name, kind, inputs, in_shapes,
# out_shape, stage, kernel, stride, padding, groups, bias, op, slice_, ceil_mode): a DenseNet-201
# expansion creates 700 of them and NamedTuple's keyword handling doubled the cost.
_new = tuple.__new__


class Shape(NamedTuple):
    """A feature map of batch 1: channels, height, width."""

    c: int
    h: int
    w: int

    @property
    def numel(self) -> int:
        return self.c * self.h * self.w

    def __str__(self) -> str:
        return f"{self.c}×{self.h}×{self.w}"


class Layer(NamedTuple):
    """One operation of the graph. A NamedTuple rather than a dataclass: a profile builds hundreds of
    these per call and a tuple is several times cheaper to create."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    stage: str = ""
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    op: str = ""
    slice_: tuple[int, int] = (0, 0)
    ceil_mode: bool = False


class Network(NamedTuple):
    """A whole model: its name, input shape and layers in execution order; the last layer is the
    output."""

    name: str
    input_shape: Shape
    layers: tuple[Layer, ...]

    @property
    def output(self) -> Layer:
        return self.layers[-1]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def stages(self) -> tuple[str, ...]:
        """Stage labels in order of first appearance."""
        return tuple(dict.fromkeys(layer.stage for layer in self.layers))


def _pool_out(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    span = size + 2 * padding - kernel
    if span < 0:
        return 0
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    # torch's rule: with ceil_mode the last window must start inside the input or left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class GraphBuilder:
    """Builds a ``Network`` one layer at a time, inferring and checking shapes as it goes.

    Errors are ``SpecError`` naming the layer: a map that shrinks to nothing (the input is too small for
    the strides), channels that do not match, or a name used twice.
    """

    def __init__(self, name: str, input_shape: Shape) -> None:
        if min(input_shape) <= 0:
            raise SpecError(f"input shape {input_shape} must be positive in every dimension")
        self.name = name
        self.input_shape = input_shape
        self._layers: list[Layer] = []
        self._shapes: dict[str, Shape] = {INPUT: input_shape}
        self.stage = ""

    def shape(self, name: str) -> Shape:
        return self._shapes[name]

    def build(self) -> Network:
        if not self._layers:
            raise SpecError(f"network {self.name!r} has no layers")
        return Network(self.name, self.input_shape, tuple(self._layers))

    # --- internal -------------------------------------------------------------------------------

    def _add(self, layer: Layer) -> str:
        name = layer.name
        shapes = self._shapes
        if name in shapes:
            raise SpecError(f"layer name {name!r} is used twice in {self.name!r}")
        out = layer.out_shape
        if out[0] <= 0 or out[1] <= 0 or out[2] <= 0:
            raise SpecError(
                f"layer {layer.name!r} of {self.name!r} would produce an empty {out} map from "
                f"{' + '.join(map(str, layer.in_shapes))}: the input "
                f"{self.input_shape.h}×{self.input_shape.w} is too small for the network's strides "
                f"or a channel count rounds to zero; use a larger input or wider layers"
            )
        self._layers.append(layer)
        shapes[name] = out
        return name

    def _in(self, src: str) -> Shape:
        try:
            return self._shapes[src]
        except KeyError:
            raise SpecError(f"layer {src!r} does not exist in {self.name!r}") from None

    # --- layer kinds ----------------------------------------------------------------------------

    def conv(
        self,
        name: str,
        src: str,
        out_c: int,
        kernel: int,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        bias: bool = False,
    ) -> str:
        s = self._in(src)
        pad = kernel // 2 if padding is None else padding
        if out_c <= 0:
            raise SpecError(f"conv {name!r} has {out_c} output channels; it needs at least 1")
        if groups <= 0 or s.c % groups or out_c % groups:
            raise SpecError(
                f"conv {name!r}: groups={groups} must divide both its {s.c} input and {out_c} output "
                f"channels; choose a divisor of both"
            )
        h = (s[1] + 2 * pad - kernel) // stride + 1
        w = (s[2] + 2 * pad - kernel) // stride + 1
        out = _new(Shape, (out_c, h, w))
        return self._add(
            _new(
                Layer,
                (
                    name,
                    "conv",
                    (src,),
                    (s,),
                    out,
                    self.stage,
                    kernel,
                    stride,
                    pad,
                    groups,
                    bias,
                    "",
                    _NO_SLICE,
                    False,
                ),
            )
        )

    def linear(self, name: str, src: str, out_features: int, bias: bool = True) -> str:
        s = self._in(src)
        if s.h != 1 or s.w != 1:
            raise SpecError(f"linear {name!r} needs a C×1×1 input, got {s}; add a global pool first")
        return self._add(
            Layer(name, "linear", (src,), (s,), Shape(out_features, 1, 1), self.stage, bias=bias)
        )

    def _same(self, name: str, kind: str, src: str, op: str = "") -> str:
        s = self._in(src)
        return self._add(
            _new(Layer, (name, kind, (src,), (s,), s, self.stage, 1, 1, 0, 1, False, op, _NO_SLICE, False))
        )

    def bn(self, name: str, src: str) -> str:
        return self._same(name, "bn", src)

    def act(self, name: str, src: str, op: str = "relu") -> str:
        if op not in _ACTIVATION_SET:
            raise SpecError(f"activation {op!r} of {name!r} is not one of {', '.join(ACTIVATIONS)}")
        return self._same(name, "act", src, op)

    def dropout(self, name: str, src: str) -> str:
        return self._same(name, "dropout", src)

    def softmax(self, name: str, src: str) -> str:
        return self._same(name, "softmax", src)

    def flatten(self, name: str, src: str) -> str:
        s = self._in(src)
        return self._add(Layer(name, "flatten", (src,), (s,), Shape(s.numel, 1, 1), self.stage))

    def gap(self, name: str, src: str) -> str:
        s = self._in(src)
        return self._add(Layer(name, "gap", (src,), (s,), Shape(s.c, 1, 1), self.stage))

    def pool(
        self,
        kind: str,
        name: str,
        src: str,
        kernel: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
    ) -> str:
        s = self._in(src)
        st = kernel if stride is None else stride
        h = _pool_out(s.h, kernel, st, padding, ceil_mode)
        w = _pool_out(s.w, kernel, st, padding, ceil_mode)
        return self._add(
            Layer(
                name,
                kind,
                (src,),
                (s,),
                Shape(s.c, h, w),
                self.stage,
                kernel,
                st,
                padding,
                ceil_mode=ceil_mode,
            )
        )

    def maxpool(
        self,
        name: str,
        src: str,
        kernel: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
    ) -> str:
        return self.pool("maxpool", name, src, kernel, stride, padding, ceil_mode)

    def avgpool(
        self,
        name: str,
        src: str,
        kernel: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
    ) -> str:
        return self.pool("avgpool", name, src, kernel, stride, padding, ceil_mode)

    def concat(self, name: str, srcs: Sequence[str]) -> str:
        known = self._shapes
        try:
            shapes = tuple([known[s] for s in srcs])
        except KeyError:
            for src in srcs:
                self._in(src)  # raises the one "does not exist" error for the first missing input
            raise
        if len(shapes) < 2:
            raise SpecError(f"concat {name!r} needs at least two inputs, got {len(shapes)}")
        _, h, w = shapes[0]
        c = 0
        for s in shapes:
            if s[1] != h or s[2] != w:
                bad = srcs[shapes.index(s)]
                raise SpecError(
                    f"concat {name!r}: input {bad!r} is {s.h}×{s.w} but the first is {h}×{w}; "
                    f"concatenated maps must share height and width"
                )
            c += s[0]
        return self._add(
            _new(
                Layer,
                (
                    name,
                    "concat",
                    tuple(srcs),
                    shapes,
                    _new(Shape, (c, h, w)),
                    self.stage,
                    1,
                    1,
                    0,
                    1,
                    False,
                    "",
                    _NO_SLICE,
                    False,
                ),
            )
        )

    def split(self, name: str, src: str, start: int, stop: int) -> str:
        s = self._in(src)
        if not 0 <= start < stop <= s.c:
            raise SpecError(
                f"split {name!r}: channels [{start}, {stop}) are not inside the {s.c} channels of {src!r}"
            )
        return self._add(
            Layer(
                name, "split", (src,), (s,), Shape(stop - start, s.h, s.w), self.stage, slice_=(start, stop)
            )
        )

    def add(self, name: str, srcs: Sequence[str]) -> str:
        shapes = tuple(self._in(s) for s in srcs)
        for src, s in zip(srcs, shapes):
            if s != shapes[0]:
                raise SpecError(
                    f"add {name!r}: input {src!r} is {s} but {srcs[0]!r} is {shapes[0]}; "
                    f"a shortcut adds maps of one shape"
                )
        return self._add(Layer(name, "add", tuple(srcs), shapes, shapes[0], self.stage))

    def shortcut(self, name: str, src: str, others: Sequence[str]) -> str:
        """A residual add with darknet's ``[shortcut]`` rule (``shortcut_cpu``): each of ``others``
        may have fewer channels than ``src`` (it is added into the first ones, i.e. zero-padded) and
        an integer multiple of its height and width (it is subsampled with that stride): ResNet's
        "option A" identity. Kind ``add``; with equal shapes it is exactly ``add``."""
        s = self._in(src)
        shapes = [s]
        for other in others:
            o = self._in(other)
            step = o.h // s.h if s.h else 0
            if o.c > s.c:
                raise SpecError(
                    f"shortcut {name!r}: {other!r} has {o.c} channels but the map it is added to "
                    f"has {s.c}; darknet would drop {o.c - s.c} channels. Point 'from' at a layer "
                    f"with at most {s.c} channels"
                )
            if step < 1 or o.h != step * s.h or o.w != step * s.w:
                raise SpecError(
                    f"shortcut {name!r}: {other!r} is {o.h}×{o.w}, which is not an integer "
                    f"multiple of the {s.h}×{s.w} map it is added to; point 'from' at a layer of "
                    f"the same size (or exactly 2×, 4×, ... larger)"
                )
            shapes.append(o)
        return self._add(Layer(name, "add", (src, *others), tuple(shapes), s, self.stage))

    # --- common blocks --------------------------------------------------------------------------

    def conv_bn_act(
        self,
        prefix: str,
        src: str,
        out_c: int,
        kernel: int,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        op: str = "relu",
    ) -> str:
        """Post-activation conv → BN → activation, named ``prefix.conv/.norm/.relu``."""
        x = self.conv(f"{prefix}.conv", src, out_c, kernel, stride, padding, groups)
        x = self.bn(f"{prefix}.norm", x)
        return self.act(f"{prefix}.{op}", x, op)

    def bn_act_conv(
        self, prefix: str, src: str, out_c: int, kernel: int, suffix: str = "", stride: int = 1
    ) -> str:
        """Pre-activation BN → ReLU → conv (DenseNet), named ``prefix.norm{suffix}`` etc."""
        x = self.bn(f"{prefix}.norm{suffix}", src)
        x = self.act(f"{prefix}.relu{suffix}", x)
        return self.conv(f"{prefix}.conv{suffix}", x, out_c, kernel, stride)
