"""``GraphBuilder``: how families and the darknet reader write a layer graph.

Each call adds one layer, checks its input, computes its output shape with the kind's shape rule
(``costmodel.kinds``) and returns the new layer's name to feed the next call. The records it builds,
``Shape``, ``Layer`` and ``Network``, live in ``costmodel.layer`` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.errors import EmptyMapError, SpecError
from costmodel.kinds import ACTIVATIONS, KINDS, LAYER_KINDS
from costmodel.layer import INPUT, Layer, Network, Shape

__all__ = ["ACTIVATIONS", "INPUT", "LAYER_KINDS", "GraphBuilder", "Layer", "Network", "Shape"]

_ACTIVATION_SET = frozenset(ACTIVATIONS)
_NO_SLICE = (0, 0)
# Hot paths build Layers with tuple.__new__ and every field in order (name, kind, inputs, in_shapes,
# out_shape, stage, kernel, stride, padding, groups, bias, op, slice_, ceil_mode): a DenseNet-201
# expansion creates 700 of them and NamedTuple's keyword handling doubled the cost.
_tuple_new = tuple.__new__
_SHAPES = {name: kind.shape for name, kind in KINDS.items()}


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

    def _emit(
        self,
        name: str,
        kind: str,
        inputs: tuple[str, ...],
        in_shapes: tuple[Shape, ...],
        out_c: int = 0,
        kernel: int = 1,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
        bias: bool = False,
        op: str = "",
        slice_: tuple[int, int] = _NO_SLICE,
        ceil_mode: bool = False,
    ) -> str:
        """Add a layer of ``kind`` whose output shape is the kind's shape rule (``out_c``: the
        output channels that conv and linear declare)."""
        shapes = self._shapes
        if name in shapes:
            raise SpecError(f"layer name {name!r} is used twice in {self.name!r}")
        out = _SHAPES[kind](in_shapes, out_c, kernel, stride, padding, slice_, ceil_mode)
        if out[0] <= 0 or out[1] <= 0 or out[2] <= 0:
            raise EmptyMapError(
                f"layer {name!r} of {self.name!r} would produce an empty {out} map from "
                f"{' + '.join(map(str, in_shapes))}: the input "
                f"{self.input_shape.h}×{self.input_shape.w} is too small for the network's strides "
                f"or a channel count rounds to zero; use a larger input or wider layers"
            )
        self._layers.append(
            _tuple_new(
                Layer,
                (
                    name,
                    kind,
                    inputs,
                    in_shapes,
                    out,
                    self.stage,
                    kernel,
                    stride,
                    padding,
                    groups,
                    bias,
                    op,
                    slice_,
                    ceil_mode,
                ),
            )
        )
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
        return self._emit(name, "conv", (src,), (s,), out_c, kernel, stride, pad, groups, bias)

    def linear(self, name: str, src: str, out_features: int, bias: bool = True) -> str:
        s = self._in(src)
        if s.h != 1 or s.w != 1:
            raise SpecError(f"linear {name!r} needs a C×1×1 input, got {s}; add a global pool first")
        return self._emit(name, "linear", (src,), (s,), out_features, bias=bias)

    def bn(self, name: str, src: str) -> str:
        return self._emit(name, "bn", (src,), (self._in(src),))

    def act(self, name: str, src: str, op: str = "relu") -> str:
        if op not in _ACTIVATION_SET:
            raise SpecError(f"activation {op!r} of {name!r} is not one of {', '.join(ACTIVATIONS)}")
        return self._emit(name, "act", (src,), (self._in(src),), op=op)

    def dropout(self, name: str, src: str) -> str:
        return self._emit(name, "dropout", (src,), (self._in(src),))

    def softmax(self, name: str, src: str) -> str:
        return self._emit(name, "softmax", (src,), (self._in(src),))

    def flatten(self, name: str, src: str) -> str:
        return self._emit(name, "flatten", (src,), (self._in(src),))

    def gap(self, name: str, src: str) -> str:
        return self._emit(name, "gap", (src,), (self._in(src),))

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
        return self._emit(name, kind, (src,), (s,), 0, kernel, st, padding, ceil_mode=ceil_mode)

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
        for s in shapes:
            if s[1] != h or s[2] != w:
                bad = srcs[shapes.index(s)]
                raise SpecError(
                    f"concat {name!r}: input {bad!r} is {s.h}×{s.w} but the first is {h}×{w}; "
                    f"concatenated maps must share height and width"
                )
        return self._emit(name, "concat", tuple(srcs), shapes)

    def split(self, name: str, src: str, start: int, stop: int) -> str:
        s = self._in(src)
        if not 0 <= start < stop <= s.c:
            raise SpecError(
                f"split {name!r}: channels [{start}, {stop}) are not inside the {s.c} channels of {src!r}"
            )
        return self._emit(name, "split", (src,), (s,), slice_=(start, stop))

    def add(self, name: str, srcs: Sequence[str]) -> str:
        shapes = tuple(self._in(s) for s in srcs)
        for src, s in zip(srcs, shapes):
            if s != shapes[0]:
                raise SpecError(
                    f"add {name!r}: input {src!r} is {s} but {srcs[0]!r} is {shapes[0]}; "
                    f"a shortcut adds maps of one shape"
                )
        return self._emit(name, "add", tuple(srcs), shapes)

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
        return self._emit(name, "add", (src, *others), tuple(shapes))

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
