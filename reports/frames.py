"""Profiles as pandas DataFrames: the one place a profile becomes a table of numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from costmodel.analyze import Profile

__all__ = ["profile_frame"]


def _shape(dims: list[int]) -> str:
    return "×".join(map(str, dims))


def profile_frame(profile: Profile) -> pd.DataFrame:
    """One row per layer in execution order, with every per-layer column of the JSON contract."""
    rows = [profile.layer_dict(layer, cost) for layer, cost in profile.rows()]
    frame = pd.DataFrame(rows)
    frame["in_shape"] = frame["in_shape"].map(lambda shapes: " + ".join(map(_shape, shapes)))
    frame["out_shape"] = frame["out_shape"].map(_shape)
    return frame.set_index("name")
