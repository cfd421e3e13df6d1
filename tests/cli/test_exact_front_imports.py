"""A cost-only search, as a new user runs it, prints its exact front before torch, ONNX, pandas or
matplotlib is imported: they serve the Pareto plot and the ONNX export of the front, which come
after the table. This is a property of the imports, not a timing (``benchmarks/exact_front.py``
measures the time); it runs the real command in a fresh interpreter, since this one has loaded
them all already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "onnx", "onnxruntime", "pandas", "matplotlib")

# Runs the CLI with stdout watched: the write that carries the Pareto table (its title is
# "Pareto front: ...") reports the top-level packages loaded by then on stderr and ends the process
# at once, so the plot and the ONNX export that follow are never run (seconds of torch).
DRIVER = f"""
import json, os, sys

real = sys.stdout


class Watch:
    def write(self, text):
        real.write(text)
        if "Pareto front:" in text:
            real.flush()
            loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
            sys.stderr.write(json.dumps({{"loaded": loaded}}) + "\\n")
            sys.stderr.flush()
            os._exit(0)
        return len(text)

    def flush(self):
        real.flush()

    def __getattr__(self, name):
        return getattr(real, name)


sys.stdout = Watch()
from cli import main

main(sys.argv[1:])
"""


def test_the_cost_only_front_is_printed_before_torch_onnx_pandas_or_matplotlib_load(tmp_path: Path) -> None:
    command = ["search", "--base", "densenet121", "--max-mflops", "3000", "--objectives", "macs,cio"]
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *command], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    reports = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"loaded"')]
    assert len(reports) == 1, f"the Pareto table was never printed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert "exact front by enumeration" in proc.stdout and "γ=" in proc.stdout  # the front itself
    assert reports[0]["loaded"] == [], f"loaded before the front was printed: {reports[0]['loaded']}"
    assert list(tmp_path.iterdir()) == []  # ended before the plot and the design files
