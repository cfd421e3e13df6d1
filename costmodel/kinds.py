"""The layer-kind table: for every kind of layer, its cost formula and its shape rule, in one entry.

``KINDS`` maps a kind's name to a ``LayerKind``: ``formula(layer) -> Cost`` and ``shape(in_shapes,
out_c, kernel, stride, padding, slice_, ceil_mode) -> Shape`` (the output shape from the inputs'
shapes and the layer's fields; conv and linear declare their output channels). ``GraphBuilder``
computes every output shape through ``shape``; ``analyze`` costs every layer through ``formula``;
the torch module of each kind is registered against the same names in
``costmodel.torch_build.TORCH_MODULES`` (torch stays out of the core), and a contract test walks the
table and checks all three agree. ``ACTIVATIONS`` is the one list of activation ops. A kind without
an entry is reported as *unsupported* by name, never counted as zero; kinds that cost nothing by
definition (a flatten, a dropout at inference) are registered and return zeros on purpose.

To add a kind: a formula decorated with ``@register("kind", shape=..., doc=...)`` here, a
``GraphBuilder`` method that checks its arguments and calls ``_emit``, and a
``@torch_module("kind")`` factory in ``costmodel.torch_build``.

Conventions (see ``costmodel.cost.Cost`` for the fields):

- conv ``macs = (C_in/groups)·C_out·k²·H_out·W_out``; ``flops_other`` adds 1 per output element for a
  bias. A fully connected layer is a 1×1 conv on a 1×1 map for every count (darknet's classifier is).
- BN charges 2 operations per element (scale and shift, as fvcore does in eval mode); group and
  layer norm 5 with an affine scale and shift, else 4 (fvcore's count); an activation 1
  per element (``linear`` 0); an add ``n−1`` per output element; a pool ``k²`` per output element
  (darknet's rule); a global pool 1 per input element (fvcore's rule); softmax 3 per element.
- CIO, conv scope: conv and classifier layers. Conv+pool scope: also max-, average- and global pools.
- Concatenation traffic: the inputs read plus the output written. A split is a view and moves nothing.

Note [darknet BFLOPs]: darknet's ``l.bflops`` for a conv is ``2·(C_in/groups)·C_out·k²·H_out·W_out``
(``convolutional_layer.c``; ÷32 for an XNOR conv; an anti-aliasing blur is not counted), for
``[maxpool]`` and ``[local_avgpool]`` ``k²·C·H_out·W_out`` (``maxpool_layer.c``). Today's darknet
also counts a ``[shortcut]`` as ``out_w·out_h·out_c·n_from``, doubled when weighted
(``shortcut_layer.c``): ``flops_darknet_current``; the 2019 darknet that printed the CSPNet README
did not: ``flops_darknet``. ``[connected]``, BN, activations, route, upsample, reorg, scale_channels,
sam, implicit, the detection heads, global avgpool and softmax add nothing in either. A native ``linear``
classifier counts as the 1×1 conv classifier of the authors' cfgs. ``tests/test_darknet_parse.py``
holds every layer of darknet's 77 parsed cfgs to this.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from costmodel.cost import Cost
from costmodel.layer import Layer, Shape

__all__ = [
    "ACTIVATIONS",
    "FORMULAS",
    "KINDS",
    "LAYER_KINDS",
    "LayerKind",
    "conv_size",
    "pool_size",
    "register",
]

Formula = Callable[[Layer], Cost]
Inputs = tuple[Shape, ...]
Slice = tuple[int, int]
Geometry = tuple[int, int, int]
"""``(dilation, stride_w, pad_end)`` of a layer (see ``costmodel.layer.Layer``)."""
ShapeRule = Callable[[Inputs, int, int, int, int, Slice, bool, Geometry], Shape]
"""``(in_shapes, out_c, kernel, stride, padding, slice_, ceil_mode, geometry) -> Shape``: the output
shape from the inputs' shapes and the layer's fields (``out_c``: the output channels conv and linear
declare)."""

PLAIN = (1, 0, -1)
"""The geometry of a layer with square strides, symmetric padding and no dilation."""

ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "leaky",
    "mish",
    "swish",
    "logistic",
    "linear",
    "relu6",
    "hard_mish",
    "hardswish",
    "hardsigmoid",
    "elu",
    "selu",
    "gelu",
    "tanh",
    "relie",
    "ramp",
    "revleaky",
    "loggy",
    "plse",
    "hardtan",
    "lhtan",
    "stair",
    "normalize_channels",
    "normalize_channels_softmax",
    "normalize_channels_softmax_maxval",
)
"""The activation ops an ``act`` layer may name: every activation darknet's ``get_activation``
accepts (``src/activations.c``, its spellings; ``linear`` is the identity) plus ``hardswish`` and
``hardsigmoid``, which torch has and darknet does not. Each costs 1 operation per element, whatever
the function (a convention, as fvcore's and darknet's: ReLU's compare, SiLU's ``x·σ(x)``, GELU's
``tanh`` form and Mish's ``x·tanh(softplus(x))`` all count 1; ``linear`` counts 0)."""


@dataclass(frozen=True)
class LayerKind:
    """One row of the table: what a kind of layer is, costs and outputs."""

    name: str
    formula: Formula
    shape: ShapeRule
    doc: str

    def output_shape(self, layer: Layer) -> Shape:
        """The shape rule applied to a built layer (what ``GraphBuilder`` computed it with)."""
        return self.shape(
            layer.in_shapes,
            layer.out_shape[0],
            layer.kernel,
            layer.stride,
            layer.padding,
            layer.slice_,
            layer.ceil_mode,
            (layer.dilation, layer.stride_w, layer.pad_end),
        )


KINDS: dict[str, LayerKind] = {}
FORMULAS: dict[str, Formula] = {}
"""``kind → formula``, the lookup ``analyze`` does once per layer (kept beside ``KINDS`` by
``register``)."""


def register(*kinds: str, shape: ShapeRule | None = None, doc: str = "") -> Callable[[Formula], Formula]:
    """Register the decorated formula and ``shape`` as the table entry of ``kinds``; a kind
    registered twice is an error."""

    def deco(fn: Formula) -> Formula:
        for kind in kinds:
            if kind in KINDS:
                raise RuntimeError(f"a cost formula for layer kind {kind!r} is already registered")
        if shape is None:
            raise TypeError(f"layer kinds {kinds} need a shape rule")
        for kind in kinds:
            KINDS[kind] = LayerKind(kind, fn, shape, doc or (fn.__doc__ or "").strip())
            FORMULAS[kind] = fn
        return fn

    return deco


# Costs and shapes are built positionally (3× faster than keywords; a profile builds hundreds), in
# the field order of ``Cost``: macs, flops_other, params, params_conv, cio_conv, cio_conv_pool,
# concat_elements, flops_darknet, read_elements, write_elements, flops_darknet_current.
_tuple_new = tuple.__new__


# --- shape rules ---------------------------------------------------------------------------------


def conv_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output height (or width) of a convolution: ``(size + 2·padding − kernel)//stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def pool_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """Output height (or width) of a pool, with torch's ``ceil_mode`` rule (0 when the window does
    not fit)."""
    span = size + 2 * padding - kernel
    if span < 0:
        return 0
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    # torch's rule: with ceil_mode the last window must start inside the input or left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _conv_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    _, h, w = ins[0]
    d, sw, _ = geo
    span = d * (k - 1) + 1
    return _tuple_new(Shape, (out_c, (h + 2 * p - span) // s + 1, (w + 2 * p - span) // (sw or s) + 1))


def _conv_transpose_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    _, h, w = ins[0]
    d, _, extra = geo
    grow = d * (k - 1) + max(extra, 0) + 1 - 2 * p
    return _tuple_new(Shape, (out_c, (h - 1) * s + grow, (w - 1) * s + grow))


def _linear_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, (out_c, 1, 1))


def _same_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return ins[0]


def _pool_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    c, h, w = ins[0]
    _, sw, end = geo
    if end >= 0:  # darknet's odd total padding: ``p`` top/left, ``end`` bottom/right
        return _tuple_new(Shape, (c, (h + p + end - k) // s + 1, (w + p + end - k) // (sw or s) + 1))
    return _tuple_new(Shape, (c, pool_size(h, k, s, p, ceil), pool_size(w, k, sw or s, p, ceil)))


def _gap_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, (ins[0][0], 1, 1))


def _concat_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, (sum([x[0] for x in ins]), ins[0][1], ins[0][2]))


def _split_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    _, h, w = ins[0]
    return _tuple_new(Shape, (slice_[1] - slice_[0], h, w))


def _flatten_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, (ins[0].numel, 1, 1))


def _broadcast_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, tuple(max(dims) for dims in zip(*ins)))


def _upsample_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    c, h, w = ins[0]
    if s > 0:
        return _tuple_new(Shape, (c, h * s, w * s))
    return _tuple_new(Shape, (c, h // -s, w // -s))


def _declared_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    """The shape the layer declares: ``out_c`` × ``slice_`` = (height, width) (a reshape's view,
    an implicit tensor's size)."""
    return _tuple_new(Shape, (out_c, slice_[0], slice_[1]))


def _space_to_depth_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    c, h, w = ins[0]
    return _tuple_new(Shape, (c * s * s, h // s, w // s))


def _depth_to_space_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    c, h, w = ins[0]
    return _tuple_new(Shape, (c // (s * s), h * s, w * s))


def _crop_shape(
    ins: Inputs, out_c: int, k: int, s: int, p: int, slice_: Slice, ceil: bool, geo: Geometry
) -> Shape:
    return _tuple_new(Shape, (ins[0][0], slice_[0], slice_[1]))


# --- the table: one entry per kind -----------------------------------------------------------------


@register("conv", shape=_conv_shape, doc="2-D convolution (kernel, stride, padding, dilation, groups, bias)")
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
    # darknet divides an XNOR conv's count by 32 (``convolutional_layer.c``); integer division keeps
    # the count within one operation of darknet's float.
    darknet = 2 * macs // 32 if layer.op == "xnor" else 2 * macs
    owned = 0 if layer.shares else weights + bias
    return _tuple_new(
        Cost, (macs, other, owned, 0 if layer.shares else weights, io, io, 0, darknet, inp, out, darknet)
    )


@register(
    "conv_transpose",
    shape=_conv_transpose_shape,
    doc="2-D transposed convolution (kernel, stride, padding, output padding in pad_end, dilation, "
    "groups, bias)",
)
def conv_transpose(layer: Layer) -> Cost:
    """Every input element is multiplied by a ``(C_out/groups)·k²`` slice of the weights and added
    into the output: ``macs = C_in·(C_out/groups)·k²·H_in·W_in`` (the count of fvcore and
    ``FlopCounterMode``, which take the input's spatial size for a transposed conv)."""
    (s,) = layer.in_shapes
    c_out, h_out, w_out = layer.out_shape
    out = c_out * h_out * w_out
    inp = s[0] * s[1] * s[2]
    weights = s[0] * (c_out // layer.groups) * layer.kernel * layer.kernel
    macs = weights * s[1] * s[2]
    bias = c_out if layer.bias else 0
    owned = 0 if layer.shares else weights + bias
    io = inp + out
    return _tuple_new(
        Cost,
        (
            macs,
            out if layer.bias else 0,
            owned,
            0 if layer.shares else weights,
            io,
            io,
            0,
            2 * macs,
            inp,
            out,
            2 * macs,
        ),
    )


@register(
    "blur",
    shape=_conv_shape,
    doc="darknet's anti-aliasing: a fixed depthwise binomial filter (no parameters, darknet counts 0)",
)
def blur(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c, h, w = layer.out_shape
    out = c * h * w
    macs = layer.kernel * layer.kernel * out
    inp = s[0] * s[1] * s[2]
    return _tuple_new(Cost, (macs, 0, 0, 0, inp + out, inp + out, 0, 0, inp, out, 0))


@register(
    "linear",
    shape=_linear_shape,
    doc="fully connected on a flattened C×1×1 input (op connected: darknet's [connected], 0 BFLOPs there)",
)
def linear(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    n_in = s[0] * s[1] * s[2]
    n_out = layer.out_shape[0]
    weights = n_in * n_out
    bias = n_out if layer.bias else 0
    io = n_in + n_out
    # A classifier counts in darknet's conventions as the 1×1 conv the authors' cfgs use for it;
    # darknet's own ``[connected]`` (op ``connected``) sets no ``l.bflops`` and counts 0.
    darknet = 0 if layer.op == "connected" else 2 * weights
    owned = 0 if layer.shares else weights
    return _tuple_new(
        Cost,
        (
            weights,
            bias,
            owned + (0 if layer.shares else bias),
            owned,
            io,
            io,
            0,
            darknet,
            n_in,
            n_out,
            darknet,
        ),
    )


@register("bn", shape=_same_shape, doc="batch normalisation")
def batch_norm(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    # scale and shift per element; weight and bias per channel
    return _tuple_new(Cost, (0, 2 * n, 0 if layer.shares else 2 * c, 0, 0, 0, 0, 0, n, n, 0))


@register(
    "norm",
    shape=_same_shape,
    doc="group normalisation in groups channel groups (layer norm over a C×1×1 vector: 1 group); "
    "bias: affine",
)
def group_norm(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    # fvcore's count for group and layer norm: mean, variance, subtract, divide per element (4),
    # one more with the affine scale and shift (5); weight and bias per channel
    ops = 5 * n if layer.bias else 4 * n
    params = 0 if layer.shares or not layer.bias else 2 * c
    return _tuple_new(Cost, (0, ops, params, 0, 0, 0, 0, 0, n, n, 0))


@register("act", shape=_same_shape, doc=f"element-wise activation named by op ({', '.join(ACTIVATIONS)})")
def activation(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    return _tuple_new(Cost, (0, 0 if layer.op == "linear" else n, 0, 0, 0, 0, 0, 0, n, n, 0))


@register(
    "maxpool",
    "avgpool",
    shape=_pool_shape,
    doc="max or local average pooling (kernel, stride, padding, ceil_mode; darknet's odd padding)",
)
def pool(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c, h, w = layer.out_shape
    inp, out = s[0] * s[1] * s[2], c * h * w
    ops = layer.kernel * layer.kernel * out  # one compare or add per window element
    return _tuple_new(Cost, (0, ops, 0, 0, 0, inp + out, 0, ops, inp, out, ops))


@register("gap", shape=_gap_shape, doc="global average pooling to C×1×1")
def global_pool(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    inp, out = s[0] * s[1] * s[2], s[0]
    return _tuple_new(Cost, (0, inp, 0, 0, 0, inp + out, 0, 0, inp, out, 0))


@register("concat", shape=_concat_shape, doc="channel concatenation of two or more inputs (torch.cat(dim=1))")
def concat(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    # every input is copied once into the output: reads = writes = the output's size
    out = c * h * w
    return _tuple_new(Cost, (0, 0, 0, 0, 0, 0, 2 * out, 0, out, out, 0))


@register(
    "add",
    shape=_same_shape,
    doc="element-wise sum of inputs (residual shortcut); op per_feature/per_channel weighs each input",
)
def add(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    out = c * h * w
    n = len(layer.in_shapes)
    weighted = layer.op in ("per_feature", "per_channel")
    # a weighted sum multiplies each input by its weight: n more operations per output element
    other = (2 * n - 1) * out if weighted else (n - 1) * out
    params = (n if layer.op == "per_feature" else n * c) if weighted else 0
    # today's darknet counts a [shortcut] as out·(inputs − 1), doubled when weighted (shortcut_layer.c)
    darknet = (n - 1) * out * (2 if weighted else 1)
    return _tuple_new(Cost, (0, other, params, 0, 0, 0, 0, 0, n * out, out, darknet))


@register(
    "mul",
    shape=_broadcast_shape,
    doc="element-wise product with broadcasting (SE-style channel scale, darknet's scale_channels and sam)",
)
def mul(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    out = c * h * w
    read = sum([x[0] * x[1] * x[2] for x in layer.in_shapes])
    return _tuple_new(Cost, (0, out, 0, 0, 0, 0, 0, 0, read, out, 0))


@register("softmax", shape=_same_shape, doc="softmax over channels")
def softmax(layer: Layer) -> Cost:
    c, h, w = layer.out_shape
    n = c * h * w
    return _tuple_new(Cost, (0, 3 * n, 0, 0, 0, 0, 0, 0, n, n, 0))


@register(
    "upsample",
    shape=_upsample_shape,
    doc="nearest-neighbour upsampling by the integer stride (op bilinear: bilinear interpolation); "
    "a negative stride sums s×s blocks (darknet)",
)
def upsample(layer: Layer) -> Cost:
    (s,) = layer.in_shapes
    c, h, w = layer.out_shape
    inp, out = s[0] * s[1] * s[2], c * h * w
    # nearest upsampling copies; darknet's downsampling adds each s×s block into one value;
    # bilinear weighs 4 taps per output element: 4 operations, fvcore's count
    other = inp - out if layer.stride < 0 else 4 * out if layer.op == "bilinear" else 0
    return _tuple_new(Cost, (0, other, 0, 0, 0, 0, 0, 0, inp, out, 0))


@register(
    "space_to_depth", shape=_space_to_depth_shape, doc="s×s blocks of pixels into channels (darknet's reorg)"
)
@register(
    "depth_to_space", shape=_depth_to_space_shape, doc="channels into s×s blocks of pixels (reorg reverse)"
)
@register("crop", shape=_crop_shape, doc="the centre window of slice_ = (height, width)")
@register("copy", shape=_same_shape, doc="a copy of one input (torch's clone, contiguous, a one-map cat)")
def rearrange(layer: Layer) -> Cost:
    """Copies that rearrange or cut a map: no arithmetic; the output is written once."""
    c, h, w = layer.out_shape
    out = c * h * w
    return _tuple_new(Cost, (0, 0, 0, 0, 0, 0, 0, 0, out, out, 0))


_NOTHING = Cost()


@register("split", shape=_split_shape, doc="a channel slice [start, stop) of one input (a view)")
@register(
    "reshape",
    shape=_declared_shape,
    doc="a view to another C×H×W of as many elements (out_c × slice_ = height, width): view, reshape, "
    "permute",
)
@register("flatten", shape=_flatten_shape, doc="C×H×W to a vector, kept as (C·H·W)×1×1")
@register("dropout", shape=_same_shape, doc="identity at inference")
@register(
    "detect",
    shape=_same_shape,
    doc="a detection head's raw output map (yolo, region, detection): decoding boxes is not counted",
)
def view(layer: Layer) -> Cost:
    """Views and inference-time identities: no arithmetic and no traffic, by definition. A detection
    head passes its input map on; darknet counts it 0 and box decoding is post-processing."""
    return _NOTHING


@register(
    "implicit",
    shape=_declared_shape,
    doc="a learned out_c × slice_ = (height, width) tensor with no input (darknet's [implicit], "
    "YOLOR's implicit knowledge); darknet counts 0 BFLOPs",
)
def implicit(layer: Layer) -> Cost:
    """darknet's ``make_implicit_layer`` (``representation_layer.c``): ``nweights = out_w·out_h·out_c``
    learned values, copied to the output (``forward_implicit_layer``); no ``l.bflops``. No arithmetic:
    its weights are read and its output written once. Its parameters are not conv weights, so
    ``params_conv`` (the README's #Parameter) leaves them out."""
    c, h, w = layer.out_shape
    n = c * h * w
    return _tuple_new(Cost, (0, 0, n, 0, 0, 0, 0, 0, n, n, 0))


LAYER_KINDS: tuple[str, ...] = tuple(KINDS)
"""Every registered kind, in table order."""
