"""What comes back from a search: for every design on the final front, a design file (JSON: base,
knobs, deployment and proxy inputs, the costs the search computed) that every ``cspcost`` command
takes as MODEL, an ONNX file of the deployed network at ``--input``, the proxy-trained weights when
the study trained, and the commands that reuse it.

The design file is read by ``costmodel.specs.read_design``: ``cspcost table front/01-….json``
rebuilds the same network from the same named model and knobs, so it reports the same costs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from costmodel.specs import DESIGN_FORMAT, ModelSpec, load_network
from search.results import WEIGHTS_ATTR, result_of
from search.space import Design
from search.spec import SearchResult

__all__ = ["FrontDesign", "design_of", "front_designs", "front_files", "proxy_weights"]

COSTS = ("mflops", "macs", "params", "cio")
MEASURED = (
    "accuracy",
    "accuracy_ci95",
    "accuracy_seeds",
    "epochs",
    "latency_ms",
    "latency_iqr_ms",
    "latency_runtime",
    "latency_threads",
    "eager_torch_ms",
    "train_seconds",
)


@dataclass(frozen=True)
class FrontDesign:
    """One design of the final front: its file stem, the design file's content and the trial."""

    stem: str
    content: dict[str, Any]
    trial: FrozenTrial
    spec: ModelSpec

    def commands(self, path: str) -> list[str]:
        return [f"cspcost table {path}", f"cspcost search --base {path} --objectives macs,cio"]


def design_of(t: FrozenTrial) -> Design:
    p = t.params
    gamma = float(p.get("gamma", 0.0))
    k = p.get("growth_rate")
    return Design(str(p["fusion"]), gamma, None if k is None else int(k), p["depth"], p["width"])


def front_designs(result: SearchResult) -> list[FrontDesign]:
    """The design file of each Pareto design of ``result``, best first."""
    spec = result.spec
    base = spec.space.base
    out = []
    for rank, t in enumerate(result.pareto, 1):
        design = design_of(t)
        named = base.spec_of(design, spec.deploy_input)
        measured = result_of(t)
        knobs = {
            "gamma": named.gamma,
            "fusion": named.fusion,
            "growth_rate": named.growth_rate,
            "depth": named.depth,
            "width": named.width,
        }
        content = {
            "format": DESIGN_FORMAT,
            "base": named.model,
            "knobs": {k: v for k, v in knobs.items() if v is not None},
            "input": spec.deploy_input,
            "proxy_input": spec.proxy if spec.trains else None,
            "costs_at_input": {k: measured[k] for k in COSTS if k in measured},
            "measured": {k: measured[k] for k in MEASURED if k in measured},
            "test_accuracy": result.test_accuracy.get(t.number),
            "study": result.study_name,
            "trial": t.number,
            "objectives": list(spec.objectives),
        }
        parts = [design.fusion]
        if design.fusion != "none":
            parts.append(f"g{design.gamma:g}")
        if design.growth_rate is not None:
            parts.append(f"k{design.growth_rate}")
        if (design.depth, design.width) != (1.0, 1.0):
            parts += [f"d{design.depth:g}", f"w{design.width:g}"]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))
        out.append(FrontDesign(f"{rank:02d}-{named.model}-{slug}", content, t, named))
    return out


def front_files(
    designs: list[FrontDesign],
    onnx: bool = True,
    weights: dict[int, bytes] | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> dict[str, bytes]:
    """The files of the front: ``STEM.json`` each, ``STEM.onnx`` (the deployed network at its
    input, batch 1) when ``onnx``, ``STEM.proxy.pt`` (the proxy-trained weights of every seed,
    ``torch.load`` gives ``{"seeds": [...], "state_dicts": [...]}``) when given.
    ``progress(i, name)`` is called before the ``i``-th ONNX export (1-based): each takes a
    second or more, the first also loads torch."""
    files: dict[str, bytes] = {}
    for i, d in enumerate(designs, 1):
        files[f"{d.stem}.json"] = (json.dumps(d.content, indent=1) + "\n").encode()
        if onnx:
            if progress is not None:
                progress(i, f"{d.stem}.onnx")
            from search.export import export_onnx  # torch: after the line that says why we wait

            files[f"{d.stem}.onnx"] = export_onnx(load_network(d.spec))
        if weights and d.trial.number in weights:
            files[f"{d.stem}.proxy.pt"] = weights[d.trial.number]
    return files


def proxy_weights(result: SearchResult) -> dict[int, bytes]:
    """The proxy-trained weights of the front's trials, by trial number (none for a cost-only
    search or a study without an artifact store)."""
    if result.artifacts is None:
        return {}
    from optuna.artifacts import FileSystemArtifactStore

    store = FileSystemArtifactStore(result.artifacts)
    out = {}
    for t in result.pareto:
        artifact = result_of(t).get(WEIGHTS_ATTR)
        if artifact:
            with store.open_reader(artifact) as fh:
                out[t.number] = fh.read()
    return out
