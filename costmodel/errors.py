"""The one exception type cspcost raises for bad input, and the checks that raise it.

Every message names the bad value and says how to fix it; the CLI turns a ``SpecError`` into one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["EXCERPT", "EmptyMapError", "SpecError", "excerpt", "positive_int"]

EXCERPT = 40
"""The most characters of a user's value a message quotes: a 10 MB value must not make a 10 MB line."""


class SpecError(ValueError):
    """A model specification, input size, file or option that cspcost cannot use."""


def excerpt(text: str, quote: bool = True) -> str:
    """A user's value for a one-line message: ``repr`` (or the bare text with ``quote=False``) of
    at most ``EXCERPT`` characters, and the full length when it was cut."""
    text = str(text)
    if len(text) <= EXCERPT:
        return repr(text) if quote else text
    head = text[:EXCERPT]
    return f"{head!r}… ({len(text):,} characters)" if quote else f"{head}… ({len(text):,} characters)"


class EmptyMapError(SpecError):
    """A layer would produce an empty map: the input is too small for the strides, or a channel
    count rounds to zero. ``costmodel.models.expand`` answers it with the smallest input that fits."""


def positive_int(name: str, value: object, fix: str) -> None:
    """Refuse anything but a positive integer (``True`` is not 1 here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"{name} = {value!r} must be a positive integer; {fix}")
