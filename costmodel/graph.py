"""``GraphBuilder``: how families and the darknet reader write a layer graph.

Each call adds one layer, checks its input, computes its output shape with the kind's shape rule
(``costmodel.kinds``) and returns the new layer's name to feed the next call. The records it builds,
``Shape``, ``Layer`` and ``Network``, live in ``costmodel.layer`` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.errors import EmptyMapError, SpecError
from costmodel.kinds import ACTIVATIONS, KINDS, LAYER_KINDS, PLAIN
from costmodel.layer import INPUT, Layer, Network, Shape

__all__ = ["ACTIVATIONS", "INPUT", "LAYER_KINDS", "GraphBuilder", "Layer", "Network", "Shape"]

_ACTIVATION_SET = frozenset(ACTIVATIONS)
_NO_SLICE = (0, 0)
# Hot paths build Layers with tuple.__new__ and every field in order (name, kind, inputs, in_shapes,
# out_shape, stage, kernel, stride, padding, groups, bias, op, slice_, ceil_mode, dilation, stride_w,
# pad_end, shares): a DenseNet-201 expansion creates 700 of them and NamedTuple's keyword handling
# doubled the cost.
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
        geometry: tuple[int, int, int] = PLAIN,
        shares: str = "",
    ) -> str:
        """Add a layer of ``kind`` whose output shape is the kind's shape rule (``out_c``: the
        output channels that conv and linear declare; ``geometry``: dilation, width stride and
        bottom/right padding, see ``Layer``)."""
        shapes = self._shapes
        if name in shapes:
            raise SpecError(f"layer name {name!r} is used twice in {self.name!r}")
        out = _SHAPES[kind](in_shapes, out_c, kernel, stride, padding, slice_, ceil_mode, geometry)
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
                    geometry[0],
                    geometry[1],
                    geometry[2],
                    shares,
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
        dilation: int = 1,
        stride_w: int = 0,
        op: str = "",
        shares: str = "",
    ) -> str:
        """A conv; ``stride_w`` a different width stride, ``op="xnor"`` darknet's binary conv,
        ``shares`` the conv whose weights it reuses (same shapes, parameters counted there)."""
        s = self._in(src)
        pad = kernel // 2 if padding is None else padding
        if out_c <= 0:
            raise SpecError(f"conv {name!r} has {out_c} output channels; it needs at least 1")
        if groups <= 0 or s.c % groups or out_c % groups:
            raise SpecError(
                f"conv {name!r}: groups={groups} must divide both its {s.c} input and {out_c} output "
                f"channels; choose a divisor of both"
            )
        if shares:
            other = self._layers[self._index(shares)]
            if other.kind != "conv" or (
                other.in_shapes[0].c,
                other.out_shape.c,
                other.kernel,
                other.groups,
            ) != (
                s.c,
                out_c,
                kernel,
                groups,
            ):
                raise SpecError(
                    f"conv {name!r} shares the weights of {shares!r}, which is not a conv of the same "
                    f"channels, kernel and groups ({s.c}→{out_c}, {kernel}×{kernel}, groups {groups})"
                )
        geometry = PLAIN if dilation == 1 and not stride_w else (dilation, stride_w, -1)
        return self._emit(
            name,
            "conv",
            (src,),
            (s,),
            out_c,
            kernel,
            stride,
            pad,
            groups,
            bias,
            op,
            geometry=geometry,
            shares=shares,
        )

    def conv_transpose(
        self,
        name: str,
        src: str,
        out_c: int,
        kernel: int,
        stride: int = 1,
        padding: int = 0,
        output_padding: int = 0,
        groups: int = 1,
        bias: bool = False,
        dilation: int = 1,
        shares: str = "",
    ) -> str:
        """A transposed conv (torch's ``ConvTranspose2d``); ``shares`` a transposed conv whose
        weights it reuses."""
        s = self._in(src)
        if out_c <= 0 or groups <= 0 or s.c % groups or out_c % groups:
            raise SpecError(
                f"conv_transpose {name!r}: groups={groups} must divide both its {s.c} input and "
                f"{out_c} output channels (at least 1)"
            )
        if not 0 <= output_padding < max(stride, dilation):
            raise SpecError(
                f"conv_transpose {name!r}: output padding {output_padding} must be below the stride "
                f"or the dilation"
            )
        if shares and self._layers[self._index(shares)].kind != "conv_transpose":
            raise SpecError(f"conv_transpose {name!r} shares the weights of {shares!r}, which is not one")
        return self._emit(
            name,
            "conv_transpose",
            (src,),
            (s,),
            out_c,
            kernel,
            stride,
            padding,
            groups,
            bias,
            geometry=(dilation, 0, output_padding),
            shares=shares,
        )

    def _index(self, name: str) -> int:
        for i, layer in enumerate(self._layers):
            if layer.name == name:
                return i
        raise SpecError(f"layer {name!r} does not exist in {self.name!r}")

    def linear(
        self, name: str, src: str, out_features: int, bias: bool = True, op: str = "", shares: str = ""
    ) -> str:
        """A fully connected layer; ``op="connected"`` marks darknet's ``[connected]``, which
        darknet's BFLOPs leave out; ``shares`` the linear layer whose weights it reuses."""
        s = self._in(src)
        if s.h != 1 or s.w != 1:
            raise SpecError(f"linear {name!r} needs a C×1×1 input, got {s}; add a global pool first")
        if shares:
            other = self._layers[self._index(shares)]
            if other.kind != "linear" or (other.in_shapes[0], other.out_shape.c, other.bias) != (
                s,
                out_features,
                bias,
            ):
                raise SpecError(
                    f"linear {name!r} shares the weights of {shares!r}, which is not a linear layer "
                    f"of the same features ({s.c}→{out_features}, bias {bias})"
                )
        return self._emit(name, "linear", (src,), (s,), out_features, bias=bias, op=op, shares=shares)

    def bn(self, name: str, src: str, shares: str = "") -> str:
        return self._emit(name, "bn", (src,), (self._in(src),), shares=shares)

    def norm(self, name: str, src: str, groups: int, affine: bool = True, shares: str = "") -> str:
        """Group normalisation over ``groups`` groups of channels (``groups=1`` on a ``C×1×1``
        vector is a layer norm over its channels); ``affine``: a learned scale and shift per
        channel."""
        s = self._in(src)
        if groups <= 0 or s.c % groups:
            raise SpecError(f"norm {name!r}: {groups} groups must divide its {s.c} channels")
        return self._emit(name, "norm", (src,), (s,), groups=groups, bias=affine, shares=shares)

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
        stride_w: int = 0,
        pad_end: int = -1,
    ) -> str:
        """A pool; ``stride_w`` a different width stride, ``pad_end`` a bottom/right padding that
        differs from the top/left ``padding`` (darknet's odd total padding)."""
        s = self._in(src)
        st = kernel if stride is None else stride
        geometry = PLAIN if not stride_w and pad_end < 0 else (1, stride_w, pad_end)
        return self._emit(
            name, kind, (src,), (s,), 0, kernel, st, padding, ceil_mode=ceil_mode, geometry=geometry
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

    def mul(self, name: str, srcs: Sequence[str]) -> str:
        """Element-wise product of maps that broadcast: each dimension equal or 1 (an SE-style
        C×1×1 channel scale, a 1×H×W spatial one, or two maps of one shape)."""
        shapes = tuple(self._in(s) for s in srcs)
        for dims in zip(*shapes):
            top = max(dims)
            if any(d not in (1, top) for d in dims):
                raise SpecError(
                    f"mul {name!r}: {' and '.join(map(str, shapes))} do not broadcast; each dimension "
                    f"must be equal or 1"
                )
        return self._emit(name, "mul", tuple(srcs), shapes)

    def upsample(self, name: str, src: str, scale: int, mode: str = "nearest") -> str:
        """Nearest (or ``mode="bilinear"``) upsampling by ``scale``; a negative ``scale`` sums
        ``|scale|``² blocks (darknet)."""
        s = self._in(src)
        if scale == 0 or (scale < 0 and (s.h % scale or s.w % scale)):
            raise SpecError(
                f"upsample {name!r}: stride {scale} on a {s.h}×{s.w} map; use a non-zero integer "
                f"(negative: a divisor of the height and width)"
            )
        if mode not in ("nearest", "bilinear") or (mode == "bilinear" and scale < 0):
            raise SpecError(f"upsample {name!r}: mode {mode!r} must be nearest or bilinear (scale > 0)")
        op = "" if mode == "nearest" else mode
        return self._emit(name, "upsample", (src,), (s,), stride=scale, op=op)

    def reshape(self, name: str, src: str, shape: Shape) -> str:
        """A view of ``src`` as another ``C×H×W`` of as many elements (a permute, a reshape)."""
        s = self._in(src)
        if shape.numel != s.numel or min(shape) <= 0:
            raise SpecError(f"reshape {name!r}: {s} cannot be viewed as {shape}; keep the element count")
        return self._emit(name, "reshape", (src,), (s,), shape.c, slice_=(shape.h, shape.w))

    def traced(self, name: str, kind: str, srcs: Sequence[str], out_shape: Shape) -> str:
        """A layer whose output shape was observed rather than declared (a tracer's): a registered
        kind's shape rule must give ``out_shape``; a kind the table lacks is kept with that shape for
        ``analyze`` to list as unsupported (never costed as zero silently)."""
        shapes = tuple(self._in(s) for s in srcs)
        if kind in _SHAPES:
            made = self._emit(name, kind, tuple(srcs), shapes)
            if self._shapes[made] != out_shape:
                raise SpecError(
                    f"layer {name!r} of kind {kind!r} gives {self._shapes[made]}, not {out_shape}"
                )
            return made
        if name in self._shapes:
            raise SpecError(f"layer name {name!r} is used twice in {self.name!r}")
        self._layers.append(Layer(name, kind, tuple(srcs), shapes, out_shape, self.stage))
        self._shapes[name] = out_shape
        return name

    def reorg(self, name: str, src: str, stride: int, reverse: bool = False) -> str:
        """``space_to_depth`` (s×s pixel blocks into channels) or, reversed, ``depth_to_space``."""
        s = self._in(src)
        if reverse and s.c % (stride * stride):
            raise SpecError(
                f"reorg {name!r}: reverse with stride {stride} needs channels divisible by "
                f"{stride * stride}, got {s.c}"
            )
        if not reverse and (s.h % stride or s.w % stride):
            raise SpecError(
                f"reorg {name!r}: stride {stride} does not divide the {s.h}×{s.w} map; use a divisor"
            )
        kind = "depth_to_space" if reverse else "space_to_depth"
        return self._emit(name, kind, (src,), (s,), stride=stride)

    def crop(self, name: str, src: str, height: int, width: int) -> str:
        s = self._in(src)
        if not (0 < height <= s.h and 0 < width <= s.w):
            raise SpecError(f"crop {name!r}: a {height}×{width} window does not fit the {s.h}×{s.w} map")
        return self._emit(name, "crop", (src,), (s,), slice_=(height, width))

    def blur(self, name: str, src: str, kernel: int, stride: int, stride_w: int = 0) -> str:
        """darknet's anti-aliasing blur: a fixed depthwise binomial filter (3×3, padding 1, or 2×2
        without padding) at ``stride`` (``stride_w`` across)."""
        s = self._in(src)
        geometry = PLAIN if not stride_w or stride_w == stride else (1, stride_w, -1)
        return self._emit(
            name, "blur", (src,), (s,), s.c, kernel, stride, 1 if kernel == 3 else 0, s.c, geometry=geometry
        )

    def copy(self, name: str, src: str) -> str:
        return self._emit(name, "copy", (src,), (self._in(src),))

    def implicit(self, name: str, channels: int, height: int = 1, width: int = 1) -> str:
        """A learned ``channels×height×width`` tensor that reads nothing (darknet's ``[implicit]``:
        ``filters`` channels, ``atoms`` high, 1 wide)."""
        if min(channels, height, width) <= 0:
            raise SpecError(
                f"implicit {name!r}: {channels}×{height}×{width} must be positive in every dimension"
            )
        return self._emit(name, "implicit", (), (), channels, slice_=(height, width))

    def detect(self, name: str, src: str) -> str:
        return self._emit(name, "detect", (src,), (self._in(src),))

    def add(self, name: str, srcs: Sequence[str]) -> str:
        shapes = tuple(self._in(s) for s in srcs)
        for src, s in zip(srcs, shapes):
            if s != shapes[0]:
                raise SpecError(
                    f"add {name!r}: input {src!r} is {s} but {srcs[0]!r} is {shapes[0]}; "
                    f"a shortcut adds maps of one shape"
                )
        return self._emit(name, "add", tuple(srcs), shapes)

    def shortcut(self, name: str, src: str, others: Sequence[str], weights: str = "") -> str:
        """A residual add with darknet's ``[shortcut]`` rule: each of ``others`` may have fewer
        channels than ``src`` (it is added into the first ones, i.e. zero-padded), more (its first
        ``src`` channels are added, as today's ``shortcut_multilayer_cpu`` does) and an integer
        multiple of its height and width (it is subsampled with that stride, as the 2019
        ``shortcut_cpu`` did): ResNet's "option A" identity. ``weights``: ``per_feature`` or
        ``per_channel`` (darknet's ``weights_type``). Kind ``add``; with equal shapes it is exactly
        ``add``."""
        s = self._in(src)
        shapes = [s]
        for other in others:
            o = self._in(other)
            step = o.h // s.h if s.h else 0
            if step < 1 or o.h != step * s.h or o.w != step * s.w:
                raise SpecError(
                    f"shortcut {name!r}: {other!r} is {o.h}×{o.w}, which is not an integer "
                    f"multiple of the {s.h}×{s.w} map it is added to; point 'from' at a layer of "
                    f"the same size (or exactly 2×, 4×, ... larger)"
                )
            shapes.append(o)
        return self._emit(name, "add", (src, *others), tuple(shapes), op=weights)

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
