"""``costmodel`` imports only the standard library, outside its torch builder and counters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import costmodel

TORCH_MODULES = {"torch_build.py", "counters.py", "torch_trace.py", "torch_models.py"}


def test_import_costmodel_loads_no_torch():
    code = (
        "import sys, costmodel; costmodel.analyze(costmodel.expand(costmodel.resolve("
        "'cspdensenet201'), 224)); heavy = [m for m in ('torch', 'numpy', 'pandas', 'fvcore') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_modules_import_only_the_standard_library():
    root = Path(costmodel.__file__).parent
    checked = 0
    for path in root.rglob("*.py"):
        if path.name in TORCH_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "costmodel", f"{path.name} imports {name}"
                checked += 1
    assert checked > 20
