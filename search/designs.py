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
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from costmodel import SpecError
from costmodel.specs import DESIGN_FORMAT, ModelSpec, load_network
from search.results import WEIGHTS_ATTR, result_of
from search.space import Design
from search.spec import SearchResult, SearchSpec
from search.storage import masked, normalize_url

__all__ = [
    "OWNER_FILE",
    "FrontDesign",
    "check_owner",
    "default_folder",
    "design_of",
    "designs_owner",
    "front_designs",
    "front_files",
    "owner_record",
    "proxy_weights",
]

OWNER_FILE = ".cspcost-search.json"
"""In a designs folder: which search wrote it, so that a different search never replaces its front."""

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


def designs_owner(given: dict[str, Any], storage: str | None, study: str) -> dict[str, Any]:
    """Which search a designs folder belongs to: a measured study (its name and storage, so resuming
    it replaces its own front), or a cost-only search, which stores no study (its options, so only
    the same search run again replaces it)."""
    spec = SearchSpec(**given)
    owner: dict[str, Any]
    if spec.trains or spec.times:
        owner = {"search": "study", "study": study, "storage": masked(normalize_url(storage))}
    else:
        owner = {"search": "cost-only front", "options": spec.to_attrs()}
    return dict(json.loads(json.dumps(owner)))  # as it reads back from the file


def default_folder(owner: dict[str, Any], study: str) -> Path:
    """``<study>-designs`` for a measured study, ``<study>-front`` for a cost-only search: the two
    never share a folder, though both take the study name."""
    return Path(f"{study}-designs" if owner["search"] == "study" else f"{study}-front")


def owner_record(owner: dict[str, Any]) -> bytes:
    """The content of ``OWNER_FILE``."""
    return (json.dumps(owner, indent=1) + "\n").encode()


def check_owner(folder: Path, owner: dict[str, Any]) -> None:
    """Refuse, before any work, a designs folder that holds another search's front (the files it
    wrote are the user's now). A folder without a record (none yet, or written before records)
    passes; ``reports.output.check_folder`` has already refused one holding anything of the user's."""
    record = folder / OWNER_FILE
    if not record.is_file():  # a pipe or a device is not read
        return
    try:
        with open(record, "rb") as fh:
            theirs = json.loads(fh.read(1 << 20))
    except (OSError, ValueError):
        theirs = None
    if theirs == owner:
        return
    raise SpecError(
        f"--designs {str(folder)[:120]} holds the front of another search ({_describe(theirs)}); "
        f"give --designs a new folder, or remove that one to replace it"
    )


def _describe(owner: Any) -> str:
    if isinstance(owner, dict) and owner.get("search") == "study":
        return f"study {owner.get('study')!r} in {owner.get('storage')}"
    if isinstance(owner, dict) and isinstance(owner.get("options"), dict):
        options = owner["options"]
        objectives = ",".join(map(str, options.get("objectives", [])))
        return f"a cost-only front of {options.get('base')}, objectives {objectives}"
    return f"one this cspcost cannot read: {OWNER_FILE}"
