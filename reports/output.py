"""Writing files for the user without ever losing one of theirs: the one atomic-write helper.

Every file cspcost writes (a report folder, plots, the reproduce tables, the search's Pareto plot)
goes through this module, under three rules:

- **A manifest says what is ours.** A folder cspcost writes into holds ``.cspcost-manifest.json``
  listing the files cspcost wrote there. An existing file is overwritten only when that manifest
  names it; a whole folder (``report --out``) is replaced only when it is empty or when the manifest
  names every file in it, and then only the named files are removed. Anything else is refused with
  one ``SpecError`` line before any work is done (``check_folder``, ``check_files``). Never
  replaced: the current folder or a parent of it, a folder holding ``.git``, a symbolic link.
- **Atomic.** A file is written under a temporary name and renamed over its target; a folder is
  written beside its target as ``.NAME.PID.TOKEN.tmp`` and renamed into place, the previous one moved
  aside as ``.NAME.PID.TOKEN.old`` first. A failure leaves the target as it was.
- **Leftovers are swept.** A run killed mid-write leaves those hidden names behind; the next run
  writing the same target removes them when their process is gone and, for folders, when their
  manifest names everything in them (so only what cspcost itself wrote is ever removed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from costmodel.errors import SpecError

__all__ = ["MANIFEST", "check_files", "check_folder", "replace_folder", "write_files"]

MANIFEST = ".cspcost-manifest.json"
_WRITER = "cspcost"


def _manifest(folder: Path) -> set[str] | None:
    """The files cspcost wrote in ``folder`` by its manifest, or None when it has none we wrote."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != _WRITER:
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    # a forged entry ("../x", "/etc/x") names nothing inside the folder
    return {f for f in files if f and not Path(f).is_absolute() and ".." not in Path(f).parts}


def _manifest_bytes(names: Iterable[str]) -> bytes:
    body = {"written_by": _WRITER, "files": sorted(set(names))}
    return (json.dumps(body, indent=1) + "\n").encode()


def _entries(folder: Path) -> list[str]:
    """Every file (and symbolic link) under ``folder``, relative, without following links."""
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            found.append((here / name).relative_to(folder).as_posix())
    return found


def _foreign(folder: Path) -> str | None:
    """The first entry of ``folder`` that its manifest does not name (None: all ours)."""
    named = _manifest(folder)
    if named is None:
        return next(iter(sorted(p.name for p in folder.iterdir())), None)
    return next((e for e in sorted(_entries(folder)) if e != MANIFEST and e not in named), None)


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:50]}…{text[-50:]}"


def _writable_parent(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` is a folder we can write into."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SpecError(f"{flag} {_short(path)}: {_short(parent)} is not a folder; choose another {flag}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError(f"{flag} {_short(path)}: {_short(parent)} is not writable; choose another {flag}")


def check_folder(out: Path, flag: str = "--out") -> Path:
    """Refuse (``SpecError``) a folder that ``replace_folder`` must not replace; touches nothing.
    Returns the absolute path."""
    out = Path(os.path.abspath(out))
    here = Path.cwd().resolve()
    real = out.resolve()
    if real == here or real in here.parents:
        raise SpecError(
            f"{flag} {_short(out)} is the current folder or a parent of it; give a new sub-folder "
            f"such as {flag} report"
        )
    if out.is_symlink():
        raise SpecError(f"{flag} {_short(out)} is a symbolic link; give a real folder")
    if out.exists():
        if not out.is_dir():
            raise SpecError(f"{flag} {_short(out)} is a file; give a folder")
        if (out / ".git").exists():
            raise SpecError(
                f"{flag} {_short(out)} holds .git; give a new folder so nothing of yours is replaced"
            )
        other = _foreign(out)
        if other is not None:
            raise SpecError(
                f"{flag} {_short(out)} holds other files ({other[:80]!r}, which cspcost did not "
                f"write); give an empty or new folder so nothing of yours is replaced"
            )
    else:
        _writable_parent(out, flag)
    return out


def check_files(folder: Path, names: Iterable[str], flag: str = "--out") -> None:
    """Refuse (``SpecError``) what ``write_files(folder, {name: …})`` must not do; touches nothing."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SpecError(f"{flag} {_short(folder)} is a file; give a folder")
    if not folder.exists():
        _writable_parent(folder, flag)
        return
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SpecError(f"{flag} {_short(folder)} is not writable; choose another {flag}")
    named = _manifest(folder) or set()
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            raise SpecError(f"{flag}: {_short(target)} is a folder; move it or choose another {flag}")
        if (target.exists() or target.is_symlink()) and name not in named:
            raise SpecError(
                f"{flag}: {_short(target)} exists and cspcost did not write it; move it or choose "
                f"another {flag}"
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_ours(folder: Path) -> bool:
    """Remove the files ``folder``'s manifest names, the manifest, then empty sub-folders and the
    folder itself; True when the folder is gone (anything unnamed stays)."""
    named = _manifest(folder) or set()
    for name in named:
        target = folder / name
        if target.is_file() or target.is_symlink():
            target.unlink(missing_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    for root, _, _ in sorted(os.walk(folder), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(root)
    return not folder.exists()


def _sweep(parent: Path, name: str, folders: bool) -> None:
    """Remove leftovers of killed runs beside ``parent/name``: hidden ``.NAME.PID.TOKEN.tmp|old``
    entries whose process is gone (folders only when their manifest names all they hold)."""
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[0-9a-f]+\.(tmp|old)")
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            m = pattern.fullmatch(entry.name)
            if m is None or _alive(int(m.group(1))) or entry.is_symlink():
                continue
            if folders and entry.is_dir() and _manifest(entry) is not None and _foreign(entry) is None:
                _remove_ours(entry)
            elif not folders and entry.is_file():
                entry.unlink(missing_ok=True)


def _hidden(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}")


def _fail(flag: str, where: Path, err: OSError) -> SpecError:
    return SpecError(f"cannot write {_short(where)}: {err.strerror or err}; choose a writable {flag}")


def _write_atomic(target: Path, content: bytes) -> None:
    tmp = _hidden(target, "tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(content)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_files(folder: Path, files: Mapping[str, bytes], flag: str = "--out") -> list[Path]:
    """Write ``files`` (plain names → content) into ``folder`` (created if absent), each atomically,
    and record them in the folder's manifest; see ``check_files`` for what is refused."""
    folder = Path(folder)
    check_files(folder, files, flag)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            _sweep(folder, name, folders=False)
        _sweep(folder, MANIFEST, folders=False)
        paths = []
        for name, content in files.items():
            _write_atomic(folder / name, content)
            paths.append(folder / name)
        # after the files: a run killed in between leaves a file the next run refuses, never the
        # reverse (a manifest naming a file that is not ours yet)
        _write_atomic(folder / MANIFEST, _manifest_bytes((_manifest(folder) or set()) | set(files)))
    except OSError as err:
        raise _fail(flag, folder, err) from None
    return paths


def replace_folder(out: Path, files: Mapping[str, bytes], flag: str = "--out") -> Path:
    """Write ``files`` (relative paths → content) as the folder ``out``, atomically: into a hidden
    folder beside it, renamed into place only when complete. An existing ``out`` must pass
    ``check_folder``; only the files its manifest names are removed."""
    out = check_folder(out, flag)
    _sweep(out.parent, out.name, folders=True)
    tmp = _hidden(out, "tmp")
    old: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        (tmp / MANIFEST).write_bytes(_manifest_bytes(files))  # first, so a killed run is sweepable
        for rel, content in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if out.exists():
            old = _hidden(out, "old")
            out.rename(old)
        tmp.rename(out)
    except OSError as err:
        _remove_ours(tmp)
        if old is not None and not out.exists():
            old.rename(out)
        raise _fail(flag, out, err) from None
    if old is not None:
        _remove_ours(old)
    return out
