"""Reading a file a user names (a darknet cfg, a design file): a regular file under a size cap, or
one line saying why not.

A named pipe would block the read, ``/dev/zero`` never ends and a folder is no file; each is refused
from ``fstat`` of the opened descriptor, before a byte is read, and the read itself stops one byte past
the cap, so a file that grows after ``fstat`` is refused too (issue 8).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from costmodel.errors import SpecError

__all__ = ["read_capped", "shown"]

SHOWN = 160
"""The most characters of a path a message shows."""


def shown(path: str | Path) -> str:
    """``path`` for a one-line message, cut to ``SHOWN`` characters."""
    text = str(path)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}…"


def read_capped(path: Path, cap: int, what: str, fix: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``cap`` bytes; anything else is a
    ``SpecError`` whose message names the file, calls it ``what`` ("cfg file") and ends with ``fix``
    ("give a darknet .cfg file")."""
    name = shown(path)
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SpecError(f"{name}: no such {what}; check the path") from None
    except OSError as err:
        raise SpecError(f"{name}: cannot read the {what} ({err.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SpecError(f"{name} is not a regular file (a pipe, device or folder); {fix}")
    limit = f"a {what} is at most {cap / 2**20:g} MiB"
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > cap:
            raise SpecError(f"{name} is {info.st_size:,} bytes; {limit} ({fix})")
        try:
            data = fh.read(cap + 1)
        except OSError as err:
            raise SpecError(f"{name}: cannot read the {what} ({err.strerror})") from None
    if len(data) > cap:  # it grew after fstat
        raise SpecError(f"{name} is over {cap / 2**20:g} MiB; {limit} ({fix})")
    return data
