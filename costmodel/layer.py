"""The records of the torch-free layer graph: ``Shape``, ``Layer`` and ``Network``.

A ``Network`` is a tuple of ``Layer`` records in execution order, each knowing the shapes of the tensors
it reads and writes (batch 1, channels-height-width). Layer names are dotted paths equal to the module
names of the torch model that ``costmodel.torch_build`` makes from the same graph, so per-layer numbers
from the engine and from fvcore compare as dictionaries. What each ``kind`` means, costs and outputs is
in the layer-kind table, ``costmodel.kinds``; ``costmodel.graph.GraphBuilder`` writes graphs.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["INPUT", "Layer", "Network", "Shape"]

INPUT = ""
"""The name by which a layer refers to the network's input tensor."""


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
    these per call and a tuple is several times cheaper to create. ``kind`` is a key of
    ``costmodel.kinds.KINDS``; conv and linear layers declare their output channels in
    ``out_shape.c``."""

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
    """act: the activation; conv: ``xnor`` for darknet's binary conv; linear: ``connected`` for
    darknet's ``[connected]`` (0 darknet BFLOPs); add: the weighting of a
    weighted shortcut (``per_feature``/``per_channel``)."""
    slice_: tuple[int, int] = (0, 0)
    """``split``: the channel range ``[start, stop)``; ``crop``: the output ``(height, width)``."""
    ceil_mode: bool = False
    dilation: int = 1
    """conv: spacing of the kernel taps (``padding`` is already the dilated padding)."""
    stride_w: int = 0
    """conv and pools: the width stride where it differs from ``stride`` (0: the same)."""
    pad_end: int = -1
    """pools: the bottom/right padding where it differs from ``padding`` (-1: the same), for
    darknet's pools whose total padding is odd."""
    shares: str = ""
    """conv and bn: the layer whose weights this one reuses (darknet's ``share_index``); its own
    parameters then count 0."""


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
