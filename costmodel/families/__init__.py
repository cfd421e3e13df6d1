"""The model families. Importing any of them imports all, in this order, so that each registers its
named variants (``costmodel.registry``) in the order ``cspcost models`` lists them: the paper's
DenseNet and PeleeNet families first, then the authors' darknet-layout ImageNet models."""

from __future__ import annotations

import importlib

FAMILIES: tuple[str, ...] = ("densenet", "peleenet", "resnet", "darknet53")

for _module in FAMILIES:
    importlib.import_module(f"costmodel.families.{_module}")
