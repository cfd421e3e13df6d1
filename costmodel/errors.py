"""The one exception type cspcost raises for bad input, and the checks that raise it.

Every message names the bad value and says how to fix it; the CLI turns a ``SpecError`` into one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["EmptyMapError", "SpecError", "positive_int"]


class SpecError(ValueError):
    """A model specification, input size, file or option that cspcost cannot use."""


class EmptyMapError(SpecError):
    """A layer would produce an empty map: the input is too small for the strides, or a channel
    count rounds to zero. ``costmodel.models.expand`` answers it with the smallest input that fits."""


def positive_int(name: str, value: object, fix: str) -> None:
    """Refuse anything but a positive integer (``True`` is not 1 here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"{name} = {value!r} must be a positive integer; {fix}")
