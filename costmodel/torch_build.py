"""Build a runnable torch ``nn.Module`` from a ``Network``: the one place the engine meets torch.

Every layer of the graph becomes one module registered under the layer's dotted name, so
``dict(model.named_modules())`` has exactly the engine's layer names and per-layer numbers from fvcore
compare with the engine's as dictionaries. Parameter-free operations (concat, split, add, flatten) are
small modules too, so that each is a named node a profiler can see.

The forward pass walks the layers in order, keeping each output only until its last reader has run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from costmodel.errors import SpecError
from costmodel.layer import INPUT, Layer, Network

__all__ = ["ACTIVATION_MODULES", "TORCH_MODULES", "GraphModule", "build", "torch_module"]


class Concat(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Split(nn.Module):
    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start : self.stop]

    def extra_repr(self) -> str:
        return f"channels=[{self.start}, {self.stop})"


class Add(nn.Module):
    """Residual sum. A later input with an integer multiple of the size is subsampled; one with
    fewer channels is added into the first channels, one with more adds its first channels
    (darknet's ``[shortcut]``, see ``GraphBuilder.shortcut``)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            if x.shape[1:] == out.shape[1:]:
                out = out + x
                continue
            step = x.shape[2] // out.shape[2]
            x = x[:, : out.shape[1], ::step, ::step]
            c = x.shape[1]
            out = torch.cat((out[:, :c] + x, out[:, c:]), dim=1) if c < out.shape[1] else out + x
        return out


class WeightedAdd(Add):
    """darknet's weighted ``[shortcut]``: each input times a learned weight, one per input
    (``per_feature``) or per input and channel (``per_channel``), then summed."""

    def __init__(self, inputs: int, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(inputs, channels, 1, 1))

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return super().forward(*[x * w[: x.shape[1]] for x, w in zip(xs, self.weight)])


class Mul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class Upsample(nn.Module):
    """Nearest (or bilinear) upsampling by an integer factor; a negative factor sums each |f|×|f|
    block (darknet's ``[upsample]`` with a negative stride)."""

    def __init__(self, factor: int, mode: str = "nearest") -> None:
        super().__init__()
        self.factor, self.mode = factor, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factor > 0:
            return nn.functional.interpolate(x, scale_factor=self.factor, mode=self.mode)
        f = -self.factor
        return nn.functional.avg_pool2d(x, f) * (f * f)


class CenterCrop(nn.Module):
    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = (x.shape[2] - self.height) // 2
        left = (x.shape[3] - self.width) // 2
        return x[:, :, top : top + self.height, left : left + self.width]


class PaddedPool(nn.Module):
    """A pool whose padding differs per side (darknet's odd total padding): an explicit pad with
    -inf (max) or zeros counted out (average), then the pool without padding."""

    def __init__(self, pool: nn.Module, pad: tuple[int, int, int, int], fill: float) -> None:
        super().__init__()
        self.pool, self.pad, self.fill = pool, pad, fill

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(nn.functional.pad(x, self.pad, value=self.fill))


class Elementwise(nn.Module):
    """An activation torch has no module for, as a function of the tensor."""

    def __init__(self, name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.name, self.fn = name, fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


def _channel_norm(x: torch.Tensor) -> torch.Tensor:
    # darknet's normalize_channels: x / (Σ_c x + ε) over positive values
    x = x.clamp(min=0)
    return x / (x.sum(dim=1, keepdim=True) + 1e-4)


def _activation_functions() -> dict[str, Callable[[], nn.Module]]:
    f = torch
    fns: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "hard_mish": lambda x: x * (x + 2).clamp(0, 2) / 2 * (x < 0) + x * (x >= 0),
        "ramp": lambda x: x * (x > 0) + 0.1 * x,
        "revleaky": lambda x: f.where(x > 0, x, 0.1 * x),
        "loggy": lambda x: 2 * f.sigmoid(x) - 1,
        "plse": lambda x: f.where(
            x < -4, 0.01 * (x + 4), f.where(x > 4, 0.01 * (x - 4) + 1, 0.125 * x + 0.5)
        ),
        "lhtan": lambda x: f.where(x < 0, 0.001 * x, f.where(x > 1, 0.001 * (x - 1) + 1, x)),
        "stair": lambda x: f.where(
            f.remainder(f.floor(x), 2) == 0, f.floor(x / 2), (x - f.floor(x)) + f.floor(x / 2)
        ),
        "normalize_channels": _channel_norm,
        "normalize_channels_softmax": lambda x: f.softmax(x, dim=1),
        "normalize_channels_softmax_maxval": lambda x: f.softmax(x, dim=1),
    }
    out: dict[str, Callable[[], nn.Module]] = {}
    for name, fn in fns.items():
        out[name] = lambda name=name, fn=fn: Elementwise(name, fn)  # type: ignore[misc]
    return out


ModuleFactory = Callable[[Layer], nn.Module]

TORCH_MODULES: dict[str, ModuleFactory] = {}
"""``kind → factory`` of the torch module that runs a layer of that kind: the torch column of the
layer-kind table ``costmodel.kinds.KINDS`` (a contract test checks both name the same kinds)."""

ACTIVATION_MODULES: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky": lambda: nn.LeakyReLU(0.1),
    "mish": nn.Mish,
    "swish": nn.SiLU,
    "logistic": nn.Sigmoid,
    "linear": nn.Identity,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": lambda: nn.GELU(approximate="tanh"),
    "tanh": nn.Tanh,
    "relie": lambda: nn.LeakyReLU(0.01),
    "hardtan": lambda: nn.Hardtanh(-1.0, 1.0),
    **_activation_functions(),
}
"""``op → module`` of every activation in ``costmodel.kinds.ACTIVATIONS``."""


def torch_module(*kinds: str) -> Callable[[ModuleFactory], ModuleFactory]:
    """Register the decorated factory as the torch module of ``kinds``; twice is an error."""

    def deco(fn: ModuleFactory) -> ModuleFactory:
        for kind in kinds:
            if kind in TORCH_MODULES:
                raise RuntimeError(f"a torch module for layer kind {kind!r} is already registered")
            TORCH_MODULES[kind] = fn
        return fn

    return deco


@torch_module("conv")
def _conv(layer: Layer) -> nn.Module:
    (s,) = layer.in_shapes
    c_out = layer.out_shape.c
    return nn.Conv2d(
        s.c,
        c_out,
        layer.kernel,
        (layer.stride, layer.stride_w or layer.stride),
        layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        bias=layer.bias,
    )


@torch_module("conv_transpose")
def _conv_transpose(layer: Layer) -> nn.Module:
    (s,) = layer.in_shapes
    return nn.ConvTranspose2d(
        s.c,
        layer.out_shape.c,
        layer.kernel,
        layer.stride,
        layer.padding,
        output_padding=max(layer.pad_end, 0),
        groups=layer.groups,
        bias=layer.bias,
        dilation=layer.dilation,
    )


class Blur(nn.Module):
    """darknet's anti-aliasing blur: a fixed (buffer, not parameter) binomial depthwise filter."""

    def __init__(self, channels: int, kernel: int, stride: tuple[int, int]) -> None:
        super().__init__()
        row = torch.tensor([1.0, 2.0, 1.0] if kernel == 3 else [1.0, 1.0])
        k = torch.outer(row, row)
        self.register_buffer("weight", (k / k.sum()).expand(channels, 1, kernel, kernel).clone())
        self.stride, self.padding, self.groups = stride, kernel // 2 if kernel == 3 else 0, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight: torch.Tensor = self.weight  # type: ignore[assignment]
        return nn.functional.conv2d(x, weight, None, self.stride, self.padding, groups=self.groups)


@torch_module("blur")
def _blur(layer: Layer) -> nn.Module:
    return Blur(layer.out_shape.c, layer.kernel, (layer.stride, layer.stride_w or layer.stride))


@torch_module("linear")
def _linear(layer: Layer) -> nn.Module:
    (s,) = layer.in_shapes
    return nn.Linear(s.numel, layer.out_shape.c, bias=layer.bias)


class VectorBatchNorm(nn.BatchNorm2d):
    """Batch norm of a C×1×1 map that may arrive flat, as a linear layer's (N, C) output does
    (darknet's ``[connected]`` with ``batch_normalize``)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 4):
            raise ValueError(f"expected 2D or 4D input (got {input.dim()}D input)")


@torch_module("bn")
def _bn(layer: Layer) -> nn.Module:
    if layer.out_shape.h == layer.out_shape.w == 1:
        return VectorBatchNorm(layer.out_shape.c)
    return nn.BatchNorm2d(layer.out_shape.c)


@torch_module("norm")
def _norm(layer: Layer) -> nn.Module:
    return nn.GroupNorm(layer.groups, layer.out_shape.c, affine=layer.bias)


@torch_module("act")
def _act(layer: Layer) -> nn.Module:
    return ACTIVATION_MODULES[layer.op]()


def _pool(layer: Layer, kind: type[nn.MaxPool2d] | type[nn.AvgPool2d], **extra: bool) -> nn.Module:
    stride = (layer.stride, layer.stride_w or layer.stride)
    if layer.pad_end < 0:
        return kind(layer.kernel, stride, layer.padding, ceil_mode=layer.ceil_mode, **extra)
    p, end = layer.padding, layer.pad_end
    pool = kind(layer.kernel, stride, 0, **extra)
    # average pools divide by the whole window here; the costs are the same either way
    return PaddedPool(pool, (p, end, p, end), float("-inf") if kind is nn.MaxPool2d else 0.0)


@torch_module("maxpool")
def _maxpool(layer: Layer) -> nn.Module:
    return _pool(layer, nn.MaxPool2d)


@torch_module("avgpool")
def _avgpool(layer: Layer) -> nn.Module:
    if layer.pad_end >= 0:
        return _pool(layer, nn.AvgPool2d)
    return _pool(layer, nn.AvgPool2d, count_include_pad=False)


@torch_module("gap")
def _gap(layer: Layer) -> nn.Module:
    return nn.AdaptiveAvgPool2d(1)


@torch_module("concat")
def _concat(layer: Layer) -> nn.Module:
    return Concat()


@torch_module("split")
def _split(layer: Layer) -> nn.Module:
    return Split(*layer.slice_)


@torch_module("add")
def _add(layer: Layer) -> nn.Module:
    if layer.op == "per_feature":
        return WeightedAdd(len(layer.inputs), 1)
    if layer.op == "per_channel":
        return WeightedAdd(len(layer.inputs), layer.out_shape.c)
    return Add()


@torch_module("mul")
def _mul(layer: Layer) -> nn.Module:
    return Mul()


@torch_module("upsample")
def _upsample(layer: Layer) -> nn.Module:
    return Upsample(layer.stride, layer.op or "nearest")


class Reshape(nn.Module):
    def __init__(self, c: int, h: int, w: int) -> None:
        super().__init__()
        self.shape = (c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


@torch_module("reshape")
def _reshape(layer: Layer) -> nn.Module:
    return Reshape(*layer.out_shape)


@torch_module("space_to_depth")
def _space_to_depth(layer: Layer) -> nn.Module:
    return nn.PixelUnshuffle(layer.stride)


@torch_module("depth_to_space")
def _depth_to_space(layer: Layer) -> nn.Module:
    return nn.PixelShuffle(layer.stride)


@torch_module("crop")
def _crop(layer: Layer) -> nn.Module:
    return CenterCrop(*layer.slice_)


class Copy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


@torch_module("copy")
def _copy(layer: Layer) -> nn.Module:
    return Copy()


class Implicit(nn.Module):
    """darknet's ``[implicit]``: a learned tensor that reads nothing, copied out for each of the
    ``batch`` images as ``forward_implicit_layer`` does. Initialised as darknet does by default:
    uniform in ±0.2 around 0."""

    def __init__(self, c: int, h: int, w: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, c, h, w).uniform_(-0.2, 0.2))

    def forward(self, batch: int = 1) -> torch.Tensor:
        # a copy, never the parameter or a view of it: under no_grad those still require grad
        # without a grad_fn, which torch's module tracker (FlopCounterMode) cannot hook
        return self.weight.expand(batch, -1, -1, -1).clone()


@torch_module("implicit")
def _implicit(layer: Layer) -> nn.Module:
    return Implicit(*layer.out_shape)


@torch_module("detect")
def _detect(layer: Layer) -> nn.Module:
    return nn.Identity()


@torch_module("flatten")
def _flatten(layer: Layer) -> nn.Module:
    return nn.Flatten(1)


@torch_module("dropout")
def _dropout(layer: Layer) -> nn.Module:
    return nn.Dropout(0.0)


@torch_module("softmax")
def _softmax(layer: Layer) -> nn.Module:
    return nn.Softmax(dim=1)


def _module(layer: Layer) -> nn.Module:
    factory = TORCH_MODULES.get(layer.kind)
    if factory is None:
        raise SpecError(f"layer {layer.name!r} has kind {layer.kind!r}, which the torch builder cannot build")
    return factory(layer)


def _share(module: nn.Module, owner: nn.Module) -> None:
    """Make ``module`` use ``owner``'s parameters and running statistics (darknet's
    ``share_index``): ``parameters()`` then yields them once."""
    for name, _ in list(module.named_parameters(recurse=False)):
        setattr(module, name, getattr(owner, name))
    for name, _ in list(module.named_buffers(recurse=False)):
        module._buffers[name] = owner._buffers[name]


def _attach(root: nn.Module, name: str, module: nn.Module) -> None:
    """Register ``module`` at dotted path ``name``, creating plain container modules on the way."""
    *parents, leaf = name.split(".")
    node = root
    for part in parents:
        child = node._modules.get(part)
        if child is None:
            child = nn.Module()
            node.add_module(part, child)
        node = child
    node.add_module(leaf, module)


class GraphModule(nn.Module):
    """A torch model that runs a ``Network`` layer by layer.

    Linear layers read the flattened output of a ``flatten`` layer; shapes are the engine's, so a
    mismatch between the engine's arithmetic and torch's surfaces as a torch error, not a silent
    difference.
    """

    def __init__(self, network: Network) -> None:
        super().__init__()
        self.network_name = network.name
        steps: list[tuple[nn.Module, tuple[str, ...], str]] = []
        modules: dict[str, nn.Module] = {}
        for layer in network.layers:
            module = _module(layer)
            if layer.shares:
                _share(module, modules[layer.shares])
            modules[layer.name] = module
            _attach(self, layer.name, module)
            steps.append((module, layer.inputs, layer.name))
        last_use: dict[str, int] = {}
        for i, (_, inputs, _) in enumerate(steps):
            for src in inputs:
                last_use[src] = i
        # Plain Python list: the modules are registered above, by name, exactly once.
        self._steps = steps
        self._frees = [tuple(s for s in inputs if last_use[s] == i) for i, (_, inputs, _) in enumerate(steps)]
        # Layers no other layer reads are outputs (a detector's heads); the last one always is.
        self._outputs = tuple(layer.name for layer in network.layers if layer.name not in last_use)

    def forward(self, x: torch.Tensor) -> Any:
        """The last layer's output, or, where several layers are read by none (a detector's
        heads), all of theirs as a tuple in network order: tracing counters then see every head."""
        values: dict[str, torch.Tensor] = {INPUT: x}
        for (module, inputs, name), frees in zip(self._steps, self._frees):
            if inputs:
                values[name] = module(*[values[s] for s in inputs])
            else:  # a tensor that reads nothing ([implicit]) is made for the batch
                values[name] = module(x.shape[0])
            for s in frees:
                if s != name:
                    del values[s]
        if len(self._outputs) == 1:
            return values[self._outputs[0]]
        return tuple(values[s] for s in self._outputs)


def build(network: Network) -> GraphModule:
    """A freshly initialised torch model of ``network``."""
    return GraphModule(network)
