"""Build a runnable torch ``nn.Module`` from a ``Network``: the one place the engine meets torch.

Every layer of the graph becomes one module registered under the layer's dotted name, so
``dict(model.named_modules())`` has exactly the engine's layer names and per-layer numbers from fvcore
compare with the engine's as dictionaries. Parameter-free operations (concat, split, add, flatten) are
small modules too, so that each is a named node a profiler can see.

The forward pass walks the layers in order, keeping each output only until its last reader has run.
"""

from __future__ import annotations

from collections.abc import Callable

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
    """Residual sum. A later input with fewer channels or an integer multiple of the size is
    subsampled and added into the first channels (darknet's ``[shortcut]``, see
    ``GraphBuilder.shortcut``)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            if x.shape[1:] == out.shape[1:]:
                out = out + x
                continue
            step = x.shape[2] // out.shape[2]
            x = x[:, :, ::step, ::step]
            c = x.shape[1]
            out = torch.cat((out[:, :c] + x, out[:, c:]), dim=1) if c < out.shape[1] else out + x
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
        s.c, c_out, layer.kernel, layer.stride, layer.padding, groups=layer.groups, bias=layer.bias
    )


@torch_module("linear")
def _linear(layer: Layer) -> nn.Module:
    (s,) = layer.in_shapes
    return nn.Linear(s.numel, layer.out_shape.c, bias=layer.bias)


@torch_module("bn")
def _bn(layer: Layer) -> nn.Module:
    return nn.BatchNorm2d(layer.out_shape.c)


@torch_module("act")
def _act(layer: Layer) -> nn.Module:
    return ACTIVATION_MODULES[layer.op]()


@torch_module("maxpool")
def _maxpool(layer: Layer) -> nn.Module:
    return nn.MaxPool2d(layer.kernel, layer.stride, layer.padding, ceil_mode=layer.ceil_mode)


@torch_module("avgpool")
def _avgpool(layer: Layer) -> nn.Module:
    return nn.AvgPool2d(
        layer.kernel, layer.stride, layer.padding, ceil_mode=layer.ceil_mode, count_include_pad=False
    )


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
    return Add()


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
        for layer in network.layers:
            module = _module(layer)
            _attach(self, layer.name, module)
            steps.append((module, layer.inputs, layer.name))
        last_use: dict[str, int] = {}
        for i, (_, inputs, _) in enumerate(steps):
            for src in inputs:
                last_use[src] = i
        # Plain Python list: the modules are registered above, by name, exactly once.
        self._steps = steps
        self._frees = [tuple(s for s in inputs if last_use[s] == i) for i, (_, inputs, _) in enumerate(steps)]
        self._output = network.layers[-1].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {INPUT: x}
        for (module, inputs, name), frees in zip(self._steps, self._frees):
            values[name] = module(*[values[s] for s in inputs])
            for s in frees:
                if s != name:
                    del values[s]
        return values[self._output]


def build(network: Network) -> GraphModule:
    """A freshly initialised torch model of ``network``."""
    return GraphModule(network)
