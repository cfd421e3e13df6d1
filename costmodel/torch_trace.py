"""Trace any torch ``nn.Module`` into the engine's ``Network``, so a user's own model gets the same
per-layer columns (MACs, params, CIO, concat traffic, bytes, footprint) as the families the engine knows.

Mechanism: the model runs once on the ``meta`` device (shapes only, no arithmetic, no memory) under a
``TorchDispatchMode`` that sees every aten operation after autograd, the way torch's
``FlopCounterMode`` does, while global module hooks keep the stack of module calls (torch's
``ModuleTracker`` idea) so every operation is attributed to the module that performs it. Python control
flow runs as written, so the graph is what the code does: a torchvision DenseNet that re-concatenates its
whole feature list in every dense layer shows that traffic, one that grows a single tensor shows less.
The parameters are swapped for meta copies with ``torch.func.functional_call``; the user's model is
not changed (its train/eval modes are restored afterwards).

What becomes a layer (the engine's kinds, ``costmodel.kinds``):

- ``aten.convolution`` (2-D, square kernel, padding and dilation; any groups, so depthwise; the
  width stride may differ) → conv; an ``nn.Conv2d`` whose ``padding_mode`` is not zeros (torch pads
  with a copy, then convolves unpadded) is one conv with its padding. ``addmm``/``mm`` of a ``1×C``
  activation by a constant matrix → linear; batch norm with affine parameters → bn; group norm, and
  a layer norm over a vector's channels (or, without weights, over all of ``C×H×W``) → norm.
- Activations → act, 1 operation per element whatever the function: relu, relu6 (``hardtanh`` 0..6),
  leaky_relu (any slope: ``leaky``), silu (``swish``), mish, gelu, hardswish, hardsigmoid, sigmoid
  (``logistic``), tanh, elu, selu, other ``hardtanh`` bounds (``hardtan``).
- max/avg pool (square, dilation 1) → maxpool/avgpool; a mean over H and W or an adaptive average
  pool to 1×1 → gap; nearest or bilinear interpolation by one integer factor → upsample.
- ``cat`` on channels → concat (a ``cat`` of one tensor is a copy with a cat's traffic: a one-input
  concat); a channel slice (``x[:, a:b]``, ``narrow``, ``split``, ``chunk``) → split; a sum of two
  activations of one shape (``+``, ``add_``) → add; a product of two activations that broadcast
  (squeeze-and-excitation's ``x * gate``) → mul; softmax over channels → softmax.
- Views: a view from ``1×C×H×W`` to ``1×N`` → flatten; one to another ``C×H×W`` of as many elements
  (``permute``, ``view``, ``reshape``) → reshape; all cost nothing. ``clone`` (``contiguous``, a
  ``reshape`` that must copy) → copy: the map read and written once.
- A module called again reads the same parameters: its layers *share* the first call's (``shares``),
  so the engine counts the weights once and ``totals.params == sum(p.numel())``.
- Module calls that dispatch nothing and return their input: ``nn.Dropout*`` → dropout and
  ``nn.Identity`` → act ``linear`` (the engine's kinds for them; both cost no arithmetic). The builder's
  darknet shortcut (``costmodel.torch_build.Add``, a zero-padded, subsampled residual sum) is one add layer
  with darknet's rule (``GraphBuilder.shortcut``), not the slices and cat it uses internally.
- Views that keep the engine's ``C×H×W`` shape (``unsqueeze``, a ``view`` to the same shape, a full
  slice) are aliases: no layer, no traffic, no allocation. A copy is never an alias: ``clone``, a
  ``contiguous`` that copies, ``cat``.
- Operations on constants only (parameters, buffers, tensors created in ``forward``) are folded away.
- Anything else that touches an activation is a layer whose kind is the aten name (``aten.cumsum``,
  ``aten.mul`` by a constant, a transposed ``aten.convolution``, a channels-last layer norm…):
  ``analyze`` has no formula for it and lists it in ``Profile.unsupported``, and
  ``Trace.unsupported`` counts it by aten name, so nothing is ever counted as zero silently.

The model runs in ``eval()`` mode (inference costs); batch 1. In-place operations are layers like their
out-of-place twins: the engine's footprint convention is eager execution without in-place reuse.

Layer names (so results compare with fvcore's ``by_module()`` as dictionaries):

1. The first layer a *leaf* module (one without submodules) produces is named by its module path
   (``features.denseblock1.denselayer3.conv2``).
2. Any other layer is named ``<path of the module that performs it>.<aten op>``: the ``torch.cat`` in
   a dense layer's ``forward`` is ``features.denseblock1.denselayer3.cat``, the residual ``+`` in a
   block is ``layer1.0.add``, a second op of a leaf module is ``<leaf>.<op>``; at the top level it is
   just ``<op>``.
3. A name produced again — a module called a second time, or a second ``+`` in one ``forward`` — gets
   ``#2``, then ``#3``…, in execution order (``shared.conv``, ``shared.conv#2``). ``#`` never occurs
   in a module path, so ``name.split("#")[0]`` groups calls by module as fvcore does.
4. A module created inside ``forward`` (not registered) is named ``<caller path>.<ClassName>``.

The stage of a layer is the top-level submodule that holds it when that is a container (``features``,
``layer3``); layers of top-level leaf modules and operations in the top-level ``forward`` form
``stem`` until the first container has run and ``head`` after it, or ``top`` when the model has no
container at all (a flat ``nn.Sequential``), so per-stage tables stay short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from costmodel.analyze import Profile, analyze
from costmodel.errors import SpecError
from costmodel.graph import INPUT, GraphBuilder, Network, Shape
from costmodel.torch_build import Add as ShortcutAdd

__all__ = ["Trace", "trace"]

aten = torch.ops.aten
_BN_EVAL = aten.native_batch_norm.default


@dataclass(frozen=True)
class Trace:
    """What ``trace`` found: the network, and what the engine's kinds cannot express."""

    network: Network
    unsupported: dict[str, int] = field(default_factory=dict)
    """Operations on activations outside the engine's kinds, by aten name, with how often each ran."""
    unaccounted_params: int = 0
    """Parameter elements no costed layer reads (e.g. a scale used by an unsupported ``mul``)."""

    @property
    def complete(self) -> bool:
        return not self.unsupported and not self.unaccounted_params

    def analyze(self, precision: str = "fp32") -> Profile:
        return analyze(self.network, precision)


@dataclass
class _Frame:
    module: nn.Module
    path: str
    leaf: bool
    inputs: tuple[Any, ...]
    layers: int = 0


def _shape(t: torch.Tensor) -> Shape | None:
    """The engine's ``C×H×W`` for a batch-1 tensor of rank 2–4, else None."""
    dims = t.shape
    if not 2 <= len(dims) <= 4 or dims[0] != 1:
        return None
    c, h, w = (*dims[1:], 1, 1)[:3]
    return Shape(int(c), int(h), int(w))


def _tensors(values: Iterable[Any]) -> Iterable[torch.Tensor]:
    for v in values:
        if isinstance(v, torch.Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)
        elif isinstance(v, dict):
            yield from _tensors(v.values())


def _square(values: Sequence[int], default: int | None = None) -> int | None:
    """The one value of a 2-D kernel/stride/padding list, or None if it is not square."""
    if not values:
        return default
    if len(values) == 1:
        return int(values[0])
    return int(values[0]) if len(values) == 2 and values[0] == values[1] else None


def _dim(dim: int, rank: int) -> int:
    return dim + rank if dim < 0 else dim


Handler = Callable[["_Tracer", Any, tuple[Any, ...], dict[str, Any], Any, list[torch.Tensor]], bool]
_HANDLERS: dict[str, Handler] = {}


def _handles(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for name in names:
            if name in _HANDLERS:
                raise RuntimeError(f"aten op {name!r} already has a trace handler")
            _HANDLERS[name] = fn
        return fn

    return deco


class _Tracer(TorchDispatchMode):
    def __init__(self, name: str, model: nn.Module, shape: Shape, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.g = GraphBuilder(name, shape)
        self.paths = {id(m): p for p, m in model.named_modules()}
        self.stack: list[_Frame] = []
        self.nodes: dict[int, tuple[torch.Tensor, str]] = {}
        self.used: Counter[str] = Counter()
        self.unsupported: Counter[str] = Counter()
        # Parameters (and views of them, such as a linear layer's ``weight.t()``) → the parameter.
        self.param_of: dict[int, torch.Tensor] = {}
        for p in params.values():
            self.param_of[id(p)] = p
        self.params = list(params.values())
        self.consumed: Counter[int] = Counter()
        self.owners: dict[tuple[int, int], str] = {}
        self.containers = {p for p, m in model.named_children() if next(iter(m.children()), None) is not None}
        self.seen_container = False
        self.quiet = 0

    # --- graph bookkeeping ----------------------------------------------------------------------

    def node(self, t: Any) -> str | None:
        entry = self.nodes.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def bind(self, t: torch.Tensor, name: str) -> None:
        self.nodes[id(t)] = (t, name)

    def name(self, op: str) -> str:
        frame = self.stack[-1] if self.stack else None
        if frame is None:
            base = op
        elif frame.leaf and frame.layers == 0 and frame.path:
            base = frame.path
        else:
            base = f"{frame.path}.{op}" if frame.path else op
        if frame is not None:
            frame.layers += 1
        n = self.used[base]
        self.used[base] += 1
        name = base if n == 0 else f"{base}#{n + 1}"
        top = name.split(".", 1)[0].split("#", 1)[0]
        if top in self.containers and "." in name:
            self.seen_container = True
            self.g.stage = top
        else:
            self.g.stage = "head" if self.seen_container else "stem" if self.containers else "top"
        return name

    def check(self, layer: str, out: torch.Tensor) -> None:
        """The builder inferred the layer's output shape; torch computed it. They must agree."""
        got = _shape(out)
        want = self.g.shape(layer)
        if got != want and not (got is None and want.numel == out.numel()):
            raise RuntimeError(f"tracer bug: layer {layer!r} is {want} in the engine but {got} in torch")
        self.bind(out, layer)

    def consume(self, *ts: Any) -> None:
        for t in ts:
            p = self.param_of.get(id(t)) if t is not None else None
            if p is not None:
                self.consumed[id(p)] += 1

    def raw(self, kind: str, op: str, srcs: list[str], out: torch.Tensor) -> str:
        """A layer the builder has no method for (a one-input concat, an unsupported op), with the
        shape torch gave it."""
        shape = _shape(out) or Shape(max(out.numel(), 1), 1, 1)
        return self.g.traced(self.name(op), kind, srcs, shape)

    def owner(self, weight: Any, bias: Any) -> str:
        """The layer that first read these parameters (a module called again shares its weights,
        counted once), or "" after recording ``layer`` as their owner on first use."""
        key = (id(self.param_of.get(id(weight))), id(self.param_of.get(id(bias))) if bias is not None else 0)
        return self.owners.get(key, "")

    def own(self, weight: Any, bias: Any, layer: str) -> None:
        key = (id(self.param_of.get(id(weight))), id(self.param_of.get(id(bias))) if bias is not None else 0)
        self.owners.setdefault(key, layer)

    def unsupported_op(self, func: Any, out: Any, acts: list[torch.Tensor], why: str = "") -> None:
        op = func._opname
        self.unsupported[f"aten.{op}{why}"] += 1
        srcs = list(dict.fromkeys(n for t in acts if (n := self.node(t)) is not None))
        outs = [t for t in _tensors(out if isinstance(out, (list, tuple)) else [out])]
        if not outs:
            return
        name = self.raw(f"aten.{op.rstrip('_') or op}", op, srcs, outs[0])
        for t in outs:
            self.bind(t, name)

    # --- dispatch -------------------------------------------------------------------------------

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if func is _BN_EVAL and args[0].is_meta and not args[5]:
            # torch's meta batch norm runs a Python decomposition (about 2 ms a call); in eval mode
            # the output has the input's shape and the saved statistics are empty.
            x = args[0]
            out = (torch.empty_like(x), x.new_empty((0,)), x.new_empty((0,)))
        else:
            out = func(*args, **kwargs)
        if self.quiet:
            return out
        acts = [t for t in _tensors(args) if self.node(t) is not None]
        acts += [t for t in _tensors(kwargs.values()) if self.node(t) is not None]
        if not acts:
            if func.is_view and args and id(args[0]) in self.param_of:
                for t in _tensors([out]):
                    self.param_of[id(t)] = self.param_of[id(args[0])]
            return out
        op = func._opname
        inplace = op.endswith("_") and not op.startswith("_")
        base = op[:-1] if inplace else op
        if inplace and isinstance(args[0], torch.Tensor) and args[0]._is_view():
            root = args[0]._base
            if root is not None and self.node(root) is not None:
                self.unsupported_op(func, out, acts, " into a view")
                return out
        handler = _HANDLERS.get(base)
        if handler is None or not handler(self, func, args, kwargs, out, acts):
            if func.is_view:
                self.view(func, args[0], out)
            else:
                self.unsupported_op(func, out, acts)
        return out

    def view(self, func: Any, src: torch.Tensor, out: Any) -> None:
        outs = list(_tensors([out]))
        name = self.node(src)
        assert name is not None
        s_in, s_out = self.g.shape(name), _shape(outs[0]) if len(outs) == 1 else None
        if s_out is not None and src.dim() == 4 and outs[0].dim() == 2:
            self.check(self.g.flatten(self.name(func._opname), name), outs[0])
        elif s_out == s_in or (s_out is None and len(outs) == 1 and outs[0].numel() == src.numel()):
            # same C×H×W, or a passing shape the engine cannot name (``unsqueeze`` to rank 5): an alias
            self.bind(outs[0], name)
        elif s_out is not None and s_out.numel == s_in.numel:
            # another C×H×W of as many elements (permute, reshape): a free view, its own layer
            self.check(self.g.reshape(self.name(func._opname), name, s_out), outs[0])
        else:
            self.unsupported_op(func, out, [src])

    # --- module tracking ------------------------------------------------------------------------

    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        path = self.paths.get(id(module))
        if path is None:
            parent = self.stack[-1].path if self.stack else ""
            path = f"{parent}.{type(module).__name__}" if parent else type(module).__name__
        leaf = next(iter(module.children()), None) is None
        self.stack.append(_Frame(module, path, leaf, args))
        if _whole(module):
            self.quiet += 1

    def post_hook(self, module: nn.Module, args: tuple[Any, ...], out: Any) -> Any:
        frame = self.stack[-1]
        result = out
        if isinstance(module, nn.Conv2d) and _whole(module):
            self.quiet -= 1
            src = self.node(args[0]) if self.quiet == 0 and args else None
            if src is not None and isinstance(out, torch.Tensor):
                m, pad = module, cast(tuple[int, ...], module.padding)  # _whole: not a string
                if not _conv_layer(self, src, m.weight, m.bias, m.stride, pad, m.dilation, m.groups, out):
                    self.unsupported["aten.convolution (non-square)"] += 1
                    self.bind(out, self.raw("aten.convolution", "conv", [src], out))
        elif isinstance(module, ShortcutAdd):
            self.quiet -= 1
            if self.quiet == 0:
                srcs = [self.node(t) for t in args]
                if all(s is not None for s in srcs):
                    first, *others = [s for s in srcs if s is not None]
                    self.check(self.g.shortcut(self.name("add"), first, others), out)
        elif (
            not self.quiet
            and frame.layers == 0
            and isinstance(module, (nn.Identity, nn.modules.dropout._DropoutNd))
            and isinstance(out, torch.Tensor)
            and (src := self.node(out)) is not None
        ):
            # An identity returns its input object; give the layer its own alias so that other
            # readers of the input still read the input.
            self.quiet += 1
            result = out.view(out.shape)
            self.quiet -= 1
            name = self.name("identity")
            if isinstance(module, nn.Identity):
                self.check(self.g.act(name, src, "linear"), result)
            else:
                self.check(self.g.dropout(name, src), result)
        self.stack.pop()
        return result if result is not out else None


def _whole(module: nn.Module) -> bool:
    """Modules traced as one layer from their inputs and output, not from the operations inside:
    the builder's darknet shortcut and a conv with a padding mode other than zeros (torch pads
    with a copy, then convolves without padding; the engine's conv pads, whatever the values)."""
    return isinstance(module, ShortcutAdd) or (
        isinstance(module, nn.Conv2d)
        and module.padding_mode != "zeros"
        and not isinstance(module.padding, str)
    )


# --- handlers: each returns False to fall back to "unsupported" ----------------------------------


def _src(tr: _Tracer, t: Any) -> str | None:
    return tr.node(t) if isinstance(t, torch.Tensor) else None


def _conv_layer(
    tr: _Tracer,
    src: str,
    weight: Any,
    bias: Any,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
    out: torch.Tensor,
) -> bool:
    """One conv layer, or False when its geometry is outside the conv kind (a non-square kernel,
    padding or dilation)."""
    k, p, d = _square(weight.shape[2:]), _square(padding), _square(dilation, 1)
    if k is None or p is None or d is None or len(stride) not in (1, 2):
        return False
    sh, sw = int(stride[0]), int(stride[-1])
    owner = tr.owner(weight, bias)
    tr.consume(weight, bias)
    name = tr.g.conv(
        tr.name("conv"),
        src,
        int(weight.shape[0]),
        k,
        sh,
        p,
        int(groups),
        bias is not None,
        dilation=d,
        stride_w=sw if sw != sh else 0,
        shares=owner,
    )
    tr.own(weight, bias, name)
    tr.check(name, out)
    return True


@_handles("convolution")
def _conv(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x, weight, bias, stride, padding, dilation, transposed, _, groups = args
    src = _src(tr, x)
    if src is None or x.dim() != 4 or weight.dim() != 4 or _src(tr, weight) or _src(tr, bias):
        return False
    if transposed:
        k, s, p, d, extra = (_square(v) for v in (weight.shape[2:], stride, padding, dilation, args[7]))
        if k is None or s is None or p is None or d is None or extra is None:
            tr.unsupported_op(func, out, acts, " (transposed, non-square)")
            return True
        owner = tr.owner(weight, bias)
        tr.consume(weight, bias)
        c_out = int(weight.shape[1]) * int(groups)
        name = tr.g.conv_transpose(
            tr.name("conv_transpose"), src, c_out, k, s, p, extra, int(groups), bias is not None, d, owner
        )
        tr.own(weight, bias, name)
        tr.check(name, out)
    elif not _conv_layer(tr, src, weight, bias, stride, padding, dilation, groups, out):
        tr.unsupported_op(func, out, acts, " (non-square)")
    return True


@_handles("addmm", "mm")
def _linear(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    bias, x, w = args if func._opname == "addmm" else (None, *args)
    src = _src(tr, x)
    if src is None or x.shape[0] != 1 or _src(tr, w) or _src(tr, bias) or kw.get("beta", 1) != 1:
        return False
    if tr.g.shape(src).h != 1 or tr.g.shape(src).w != 1:
        return False
    owner = tr.owner(w, bias)
    tr.consume(w, bias)
    name = tr.g.linear(tr.name(func._opname), src, int(w.shape[1]), bias is not None, shares=owner)
    tr.own(w, bias, name)
    tr.check(name, out)
    return True


@_handles("native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit")
def _bn(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x, weight, bias = args[:3]
    src = _src(tr, x)
    if src is None or weight is None or bias is None or _src(tr, weight) or _src(tr, bias):
        return False
    owner = tr.owner(weight, bias)
    tr.consume(weight, bias)
    name = tr.g.bn(tr.name("batch_norm"), src, shares=owner)
    tr.own(weight, bias, name)
    tr.check(name, out[0])
    return True


@_handles("native_group_norm")
def _group_norm(
    tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any
) -> bool:
    x, weight, bias = args[:3]
    src = _norm_input(tr, x, weight, bias)
    return src is not None and _norm(tr, src, int(args[6]), weight, bias, out[0])


@_handles("native_layer_norm")
def _layer_norm(
    tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any
) -> bool:
    """A layer norm is a one-group norm when its statistics and its affine weights are the
    engine's: over the channels of a ``1×C`` vector, or, without weights, over all of ``C×H×W``."""
    x, normalized, weight, bias = args[:4]
    src = _norm_input(tr, x, weight, bias)
    if src is None:
        return False
    vector = x.dim() == 2 and list(normalized) == [x.shape[1]]
    whole = weight is None and list(normalized) == list(x.shape[1:])
    if not (vector or whole):
        return False
    return _norm(tr, src, 1, weight, bias, out[0])


def _norm_input(tr: _Tracer, x: Any, weight: Any, bias: Any) -> str | None:
    """The layer a norm reads, if the norm fits the kind: an activation of the engine's shape,
    constant weights, both or neither of weight and bias."""
    src = _src(tr, x)
    if src is None or _shape(x) is None or _src(tr, weight) or _src(tr, bias):
        return None
    return src if (weight is None) == (bias is None) else None


def _norm(tr: _Tracer, src: str, groups: int, weight: Any, bias: Any, out: torch.Tensor) -> bool:
    owner = tr.owner(weight, bias) if weight is not None else ""
    tr.consume(weight, bias)
    name = tr.g.norm(tr.name("norm"), src, groups, weight is not None, shares=owner)
    if weight is not None:
        tr.own(weight, bias, name)
    tr.check(name, out)
    return True


_ACTS = {
    "relu": "relu",
    "leaky_relu": "leaky",
    "mish": "mish",
    "silu": "swish",
    "sigmoid": "logistic",
    "gelu": "gelu",
    "hardswish": "hardswish",
    "hardsigmoid": "hardsigmoid",
    "tanh": "tanh",
    "elu": "elu",
    "hardtanh": "hardtan",
}
"""aten op → the engine's activation (``costmodel.kinds.ACTIVATIONS``, 1 operation per element
whatever the function). ``hardtanh`` is ``relu6`` between 0 and 6 (``nn.ReLU6``), else ``hardtan``;
``elu`` with SELU's scale is ``selu``; leaky ReLU of any slope is ``leaky``."""

_SELU_SCALE = 1.0507009873554805


@_handles(*_ACTS)
def _act(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    src = _src(tr, args[0])
    if src is None:
        return False
    aten_op = func._opname.rstrip("_")
    op = _ACTS[aten_op]
    if aten_op == "hardtanh" and tuple(args[1:3]) == (0, 6):
        op = "relu6"
    elif aten_op == "elu" and len(args) > 2 and abs(float(args[2]) - _SELU_SCALE) < 1e-6:
        op = "selu"
    tr.check(tr.g.act(tr.name(aten_op), src, op), out)
    return True


@_handles("mul")
def _mul(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    """A product of two activations that broadcast (a squeeze-and-excitation gate); a product with
    a constant or a parameter is not a kind the engine has."""
    srcs = [_src(tr, a) for a in args[:2]]
    if len(srcs) != 2 or None in srcs or any(_shape(a) is None for a in args[:2]):
        return False
    tr.check(tr.g.mul(tr.name("mul"), [s for s in srcs if s is not None]), out)
    return True


@_handles("upsample_nearest2d", "upsample_bilinear2d")
def _upsample(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    """Interpolation by one integer factor in both directions, nearest or bilinear (with or without
    ``align_corners``: the same count)."""
    x = args[0]
    src = _src(tr, x)
    if src is None or x.dim() != 4 or out.dim() != 4:
        return False
    h, w = int(x.shape[2]), int(x.shape[3])
    scale = int(out.shape[2]) // h
    if scale < 1 or out.shape[2] != scale * h or out.shape[3] != scale * w:
        return False
    mode = "bilinear" if "bilinear" in func._opname else "nearest"
    tr.check(tr.g.upsample(tr.name(func._opname), src, scale, mode), out)
    return True


@_handles("max_pool2d_with_indices", "max_pool2d", "avg_pool2d")
def _pool(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    src = _src(tr, args[0])
    is_max = func._opname.startswith("max")
    full = (*args, *([None] * 7))[:7]
    x, kernel, stride, padding = full[:4]
    if is_max:
        dilation, ceil = full[4] if full[4] is not None else [1], bool(full[5])
    else:
        dilation, ceil = [1], bool(full[4])
    k = _square(kernel)
    s = _square(stride or [], k)
    p = _square(padding or [], 0)
    if src is None or x.dim() != 4 or k is None or s is None or p is None or any(d != 1 for d in dilation):
        return False
    result = out[0] if isinstance(out, tuple) else out
    name = tr.g.pool("maxpool" if is_max else "avgpool", tr.name(func._opname), src, k, s, p, ceil)
    tr.check(name, result)
    return True


@_handles("mean", "_adaptive_avg_pool2d", "adaptive_avg_pool2d")
def _gap(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x = args[0]
    src = _src(tr, x)
    if src is None or x.dim() != 4:
        return False
    if func._opname == "mean":
        dims = args[1] if len(args) > 1 else kw.get("dim")
        if dims is None or {_dim(d, 4) for d in dims} != {2, 3}:
            return False
    elif list(args[1]) != [1, 1]:
        return False
    tr.check(tr.g.gap(tr.name(func._opname), src), out)
    return True


@_handles("cat")
def _cat(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    tensors = list(args[0])
    dim = _dim(args[1] if len(args) > 1 else kw.get("dim", 0), tensors[0].dim())
    srcs = [_src(tr, t) for t in tensors]
    if dim != 1 or any(s is None for s in srcs) or tensors[0].dim() not in (2, 4):
        return False
    names = [s for s in srcs if s is not None]
    if len(names) == 1:  # a copy, but torch.cat's traffic: the engine's concat of one input
        tr.bind(out, tr.raw("concat", "cat", names, out))
    else:
        tr.check(tr.g.concat(tr.name("cat"), names), out)
    return True


@_handles("clone")
def _clone(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    src = _src(tr, args[0])
    if src is None or _shape(args[0]) is None:
        return False
    tr.check(tr.g.copy(tr.name("clone"), src), out)
    return True


@_handles("_unsafe_view")
def _unsafe_view(
    tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any
) -> bool:
    """``reshape`` of a copy it just made: a view like any other."""
    tr.view(func, args[0], out)
    return True


@_handles("slice")
def _slice(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x, dim, start, _stop, step = (*args, *([None] * 5))[:5]
    src = _src(tr, x)
    if src is None:
        return False
    if tuple(out.shape) == tuple(x.shape):
        tr.bind(out, src)
        return True
    dim = _dim(dim or 0, x.dim())
    if dim != 1 or (step or 1) != 1 or _shape(x) is None:
        return False
    c = x.shape[1]
    begin = max(0, min(c, _dim(start or 0, c)))
    tr.check(tr.g.split(tr.name("slice"), src, begin, begin + int(out.shape[1])), out)
    return True


@_handles("split", "split_with_sizes")
def _split(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x = args[0]
    src = _src(tr, x)
    dim = _dim(args[2] if len(args) > 2 else kw.get("dim", 0), x.dim())
    if src is None or dim != 1 or _shape(x) is None:
        return False
    begin = 0
    for part in out:
        n = int(part.shape[1])
        if n == x.shape[1]:
            tr.bind(part, src)
        else:
            tr.check(tr.g.split(tr.name("split"), src, begin, begin + n), part)
        begin += n
    return True


@_handles("add")
def _add(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    if len(args) < 2 or not all(isinstance(a, torch.Tensor) for a in args[:2]):
        return False
    a, b = args[:2]
    srcs = [_src(tr, a), _src(tr, b)]
    if None in srcs or a.shape != b.shape or _shape(a) is None:
        return False
    tr.check(tr.g.add(tr.name("add"), [s for s in srcs if s is not None]), out)
    return True


@_handles("_softmax")
def _softmax(tr: _Tracer, func: Any, args: tuple[Any, ...], kw: dict[str, Any], out: Any, acts: Any) -> bool:
    x, dim = args[:2]
    src = _src(tr, x)
    if src is None or _dim(dim, x.dim()) != 1 or _shape(x) is None:
        return False
    tr.check(tr.g.softmax(tr.name("softmax"), src), out)
    return True


def _input_shape(input_shape: int | Sequence[int]) -> Shape:
    dims = (3, input_shape, input_shape) if isinstance(input_shape, int) else tuple(input_shape)
    if len(dims) == 4 and dims[0] == 1:
        dims = dims[1:]
    if len(dims) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in dims):
        raise SpecError(
            f"input shape {input_shape!r} must be C×H×W positive integers (or one size for 3×S×S), "
            f"e.g. (3, 224, 224)"
        )
    return Shape(*dims)


def _describe(args: tuple[Any, ...]) -> str:
    shapes = ["×".join(map(str, t.shape)) for t in _tensors(args)]
    return ", ".join(shapes) or "no tensors"


def trace(model: nn.Module, input_shape: int | Sequence[int], name: str | None = None) -> Trace:
    """Run ``model`` once on a meta tensor of ``input_shape`` (``C×H×W``, batch 1) and return its layer
    graph. The model may return a tensor or a tuple, list or dict of tensors. A model that fails at
    this input raises ``SpecError`` naming the module that failed and the shapes it was given."""
    if not isinstance(model, nn.Module):
        raise SpecError(f"{model!r} is not a torch nn.Module; pass the model object")
    shape = _input_shape(input_shape)
    label = name or type(model).__name__
    params = {
        k: torch.empty_like(v, device="meta") for k, v in [*model.named_parameters(), *model.named_buffers()]
    }
    tracer = _Tracer(label, model, shape, {k: params[k] for k, _ in model.named_parameters()})
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    x = torch.empty((1, *shape), device="meta")
    tracer.bind(x, INPUT)
    hooks = [
        nn.modules.module.register_module_forward_pre_hook(tracer.pre_hook),
        nn.modules.module.register_module_forward_hook(tracer.post_hook),
    ]
    try:
        with torch.no_grad(), tracer:
            torch.func.functional_call(model, params, (x,))
    except RuntimeError as err:
        if str(err).startswith("tracer bug"):
            raise
        raise _failure(tracer, label, shape, err) from None
    except Exception as err:  # the user's code may raise anything
        raise _failure(tracer, label, shape, err) from None
    finally:
        for h in hooks:
            h.remove()
        for m, training in modes:
            m.training = training
    used = tracer.consumed
    unaccounted = sum(p.numel() for p in tracer.params if not used[id(p)])
    return Trace(tracer.g.build(), dict(tracer.unsupported), int(unaccounted))


def _failure(tracer: _Tracer, label: str, shape: Shape, err: Exception) -> SpecError:
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if tracer.stack:
        frame = tracer.stack[-1]
        kind = type(frame.module).__name__
        where = f"module {frame.path or '(top level)'!r} ({kind}) given {_describe(frame.inputs)}"
    else:
        where = "its forward"
    return SpecError(
        f"{label} fails at input 1×{shape.c}×{shape.h}×{shape.w} in {where}: {first}; "
        f"check the input size and channels the model expects"
    )
