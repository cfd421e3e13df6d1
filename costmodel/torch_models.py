"""A torch model named on the command line, traced into a ``Network``: ``FILE.py:FACTORY``,
``package.module:FACTORY`` or ``timm:NAME``.

The torch side of the model-spec language (``costmodel.specs`` imports this module only for such a
spec, so naming a family or a cfg never loads torch). ``FACTORY`` is a function of no arguments that
returns an ``nn.Module``; the model is traced by ``costmodel.torch_trace.trace`` at ``3×S×S`` (batch
1). Loading ``FILE.py`` or ``package.module`` **runs its code**, as ``python FILE.py`` would: name only
files you trust. ``package.module`` is imported from the current folder first, then from the
installed packages. ``timm:NAME`` builds ``timm.create_model(NAME)`` when timm happens to be installed
(cspcost does not depend on it); nothing is downloaded (no pretrained weights).

Every failure is a ``SpecError`` of one line that names the file, module, factory or layer and what
to change: a file or module that does not exist, a factory that is missing, raises or returns
something else than an ``nn.Module``, a model that fails at the input (the module and the shapes it
was given, from ``trace``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from costmodel.errors import SpecError
from costmodel.layer import Network
from costmodel.torch_trace import trace

__all__ = ["load", "make_model"]


def _first_line(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [""])[0][:200]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@contextmanager
def _on_path(folder: str) -> Iterator[None]:
    """``folder`` first on ``sys.path`` while the user's code is imported (its own imports of files
    beside it then work), and off it afterwards."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(folder)


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise SpecError(
            f"file {str(path)[:200]!r} does not exist; give FILE.py:FACTORY with an existing file"
        )
    name = f"cspcost_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot load {str(path)[:200]!r} as Python; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with _on_path(str(path.resolve().parent)):
            spec.loader.exec_module(module)
    except Exception as err:  # the user's code may raise anything
        sys.modules.pop(name, None)
        raise SpecError(f"running {str(path)[:200]} raised {_first_line(err)}; fix the file") from None
    return module


def _import_module(name: str) -> ModuleType:
    try:
        with _on_path(str(Path.cwd())):
            return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            raise SpecError(
                f"module {name!r} does not exist (not in the current folder nor installed); give "
                f"package.module:FACTORY or FILE.py:FACTORY"
            ) from None
        raise SpecError(f"importing {name} raised {_first_line(err)}; install what it needs") from None
    except Exception as err:  # the user's code may raise anything
        raise SpecError(f"importing {name} raised {_first_line(err)}; fix the module") from None


def _timm(name: str) -> nn.Module:
    try:
        timm = importlib.import_module("timm")
    except ImportError:
        raise SpecError(
            f"timm:{name} needs timm, which is not installed (cspcost does not depend on it); "
            f"pip install timm, or name FILE.py:FACTORY"
        ) from None
    try:
        model = timm.create_model(name, pretrained=False)
    except Exception as err:  # unknown names and bad arguments alike
        raise SpecError(f"timm cannot build {name!r}: {_first_line(err)}; see timm.list_models()") from None
    return _checked(model, f"timm:{name}")


def _checked(model: Any, where: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise SpecError(
            f"{where} returned {type(model).__name__}, not a torch nn.Module; return the model object"
        )
    return model


def make_model(spec: str) -> nn.Module:
    """The ``nn.Module`` that ``FILE.py:FACTORY``, ``package.module:FACTORY`` or ``timm:NAME``
    names (its code runs)."""
    where, _, attr = spec.partition(":")
    if where == "timm":
        return _timm(attr)
    module = _import_file(Path(where)) if where.endswith(".py") else _import_module(where)
    factory: Callable[[], Any] | None = getattr(module, attr, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        listed = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise SpecError(
            f"{where} has no function {attr!r}; it defines {listed or 'no functions'}: name one that "
            f"returns the model"
        )
    try:
        model = factory()
    except Exception as err:  # the user's code may raise anything
        raise SpecError(f"{spec}() raised {_first_line(err)}; fix the factory") from None
    return _checked(model, f"{spec}()")


def load(spec: str, input_size: int, name: str | None = None) -> Network:
    """Build the model ``spec`` names and trace it at ``3×input_size×input_size``."""
    return trace(make_model(spec), input_size, name=name or spec).network
