"""cspcost's analytic cost engine: configs → layer graphs → per-layer costs, using only the standard
library (torch lives in ``costmodel.torch_build`` and ``costmodel.counters``, imported on demand).

>>> from costmodel import analyze, expand, resolve
>>> profile = analyze(expand(resolve("densenet121"), 224))
>>> profile.totals.params
7978856
"""

from __future__ import annotations

from costmodel.analyze import CONVENTIONS, PRECISIONS, Profile, analyze
from costmodel.bottleneck import Bottleneck, bottleneck, bottleneck_reduction
from costmodel.cio import dense_block_cio, partial_dense_block_cio
from costmodel.compare import Comparison, compare
from costmodel.cost import COST_FIELDS, Cost
from costmodel.errors import SpecError
from costmodel.families.common import FUSIONS, Fusion, split_channels
from costmodel.families.densenet import DenseNetConfig
from costmodel.families.peleenet import PeleeNetConfig
from costmodel.graph import GraphBuilder
from costmodel.kinds import FORMULAS, KINDS, LAYER_KINDS, LayerKind
from costmodel.layer import Layer, Network, Shape
from costmodel.models import MODELS, Config, expand, resolve, scale

__all__ = [
    "CONVENTIONS",
    "COST_FIELDS",
    "FORMULAS",
    "FUSIONS",
    "KINDS",
    "LAYER_KINDS",
    "MODELS",
    "PRECISIONS",
    "Bottleneck",
    "Comparison",
    "Config",
    "Cost",
    "DenseNetConfig",
    "Fusion",
    "GraphBuilder",
    "Layer",
    "LayerKind",
    "Network",
    "PeleeNetConfig",
    "Profile",
    "Shape",
    "SpecError",
    "analyze",
    "bottleneck",
    "bottleneck_reduction",
    "compare",
    "dense_block_cio",
    "expand",
    "partial_dense_block_cio",
    "resolve",
    "scale",
    "split_channels",
]
