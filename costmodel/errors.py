"""The one exception type cspcost raises for bad input.

Every message names the bad value and says how to fix it; the CLI turns a ``SpecError`` into one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["EXCERPT", "SpecError", "excerpt"]

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
