"""Pins for the mutants the mutation run over costmodel's core left alive (issue 8, second pass).

Each test holds a printed number, a shape or a JSON key that a surviving mutant changed; expected values
are arithmetic written here, darknet's own rules quoted from its source, or the key lists documented in
README.md and DESIGN.md."""

from __future__ import annotations

import pytest

from costmodel.kinds import conv_size


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "want"),
    [
        (224, 7, 2, 3, (224 + 2 * 3 - 7) // 2 + 1),  # ResNet's stem: 112
        (56, 3, 1, 1, (56 + 2 * 1 - 3) // 1 + 1),  # a same-size 3×3: 56
        (7, 1, 1, 0, 7),  # a 1×1 changes nothing
        (9, 3, 2, 0, (9 - 3) // 2 + 1),  # floor division: 4, not 4.5 or 5
        (10, 3, 3, 1, (10 + 2 - 3) // 3 + 1),  # 4
    ],
)
def test_conv_size_is_the_floor_rule(size: int, kernel: int, stride: int, padding: int, want: int) -> None:
    assert conv_size(size, kernel, stride, padding) == want
