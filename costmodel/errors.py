"""The one exception type cspcost raises for bad input.

Every message names the bad value and says how to fix it; the CLI turns a ``SpecError`` into one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(ValueError):
    """A model specification, input size, file or option that cspcost cannot use."""
