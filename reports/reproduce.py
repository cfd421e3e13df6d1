"""``cspcost reproduce``: our params, BFLOPs and CIO beside the CSPNet paper's, model by model.

The paper's numbers (``PAPER`` below) are *targets* quoted from REFERENCE.md: §1 is the CSPNet
README's table for the authors' ImageNet cfgs (plus the §4.5 CIO figures), §2 the paper's Table 1
and ablation text for PeleeNet and CSPPeleeNet. Ours are computed here, each by the engine, and
the table states the difference in percent; where a row differs, its note says why.

Conventions (``costmodel.analyze.CONVENTIONS``): params is ``params_conv`` (conv and classifier
weights, no BN or bias: the README's #Parameter, which PeleeNet's 2.79M in Table 1 also follows);
BFLOPs is darknet's ``(2·conv MACs + Σ pool k²·C·H_out·W_out)/1e9``; CIO is the conv+pool scope.
§1 models are read from the authors' cfg files when they are present, else built from the native
families that equal them layer for layer.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from costmodel import analyze, expand, resolve
from costmodel.analyze import Profile
from costmodel.darknet import load
from costmodel.errors import SpecError
from reports.tables import Format

__all__ = [
    "OUTPUTS",
    "PAPER",
    "Row",
    "Target",
    "check_cfg_dir",
    "default_cfg_dir",
    "render",
    "reproduce",
    "write",
]


def default_cfg_dir() -> Path:
    """``$CSPCOST_DARKNET_CFG``, else ``../shared/reference/darknet-cfg`` beside the project."""
    env = os.environ.get("CSPCOST_DARKNET_CFG")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "darknet-cfg"


def check_cfg_dir(cfg_dir: Path) -> None:
    """An explicitly given ``--cfg-dir`` must be a folder: silently using the native twins instead
    would print figures the user did not ask for."""
    if not cfg_dir.is_dir():
        what = "is not a folder" if cfg_dir.exists() else "does not exist"
        raise SpecError(
            f"--cfg-dir {str(cfg_dir)[:120]} {what}; give the folder of the authors' darknet cfgs, "
            f"or leave --cfg-dir out to use the default (native twins where a cfg is absent)"
        )


@dataclass(frozen=True)
class Target:
    """One model of the paper and the numbers it prints (strings, as printed; ``None``: not given).

    ``cfg`` is the authors' cfg stem (§1); ``model``/``knobs`` name our native twin; ``baseline``
    is the key of the row the paper compares it with; ``paper_change`` is the paper's change in
    computation against that baseline where it gives only a percentage.
    """

    key: str
    label: str
    section: str
    model: str
    input: int
    knobs: tuple[tuple[str, Any], ...] = ()
    cfg: str | None = None
    params_m: str | None = None
    bflops: str | None = None
    cio_m: str | None = None
    baseline: str | None = None
    paper_change: float | None = None
    note: str = ""


_PELEE_NOTE = (
    "the authors never released a CSPPeleeNet cfg. Ours (costmodel.families.common): part 1 = "
    "⌊γ·c+½⌋ channels bypass each dense block; the partial transition is PeleeNet's own 1×1 "
    "transition (no compression) on part 2; the concat is pooled 2×2 and only then does the "
    "stage's last 1×1 transition run, at the next stage's resolution. That placement is the "
    "design choice: pooling after the last transition instead (PeleeNet's conv-then-pool order) "
    "gives 1.11 BFLOPs, +9% over PeleeNet, as an unofficial CSPPeleeNet.pytorch also measured "
    "(+11% MACs); this one lands within 1.2% of the paper's BFLOPs and 0.4% of its params"
)

# Targets quoted from REFERENCE.md (§1: CSPNet README and paper §4.5; §2: paper Table 1 and text).
PAPER: tuple[Target, ...] = (
    Target("resnet10", "ResNet-10", "1", "resnet10", 256, cfg="resnet10", params_m="5.24", bflops="2.273"),
    Target(
        "resnet50",
        "ResNet-50",
        "1",
        "resnet50",
        256,
        cfg="resnet50",
        params_m="22.73",
        bflops="9.74",
        note="the README's 9.74 was copied from another cfg (REFERENCE.md): resnet50.cfg "
        "applies its 1×1 classifier before the global pool, on the 8×8 map; with the "
        "classifier after the pool, as every other cfg has it, the same network counts "
        "{classifier_after_pool:.3f}",
    ),
    Target(
        "csresnet50",
        "CSPResNet-50",
        "1",
        "cspresnet50",
        256,
        cfg="csresnet50",
        params_m="21.57",
        bflops="8.97",
        baseline="resnet50",
    ),
    Target(
        "resnext50",
        "ResNeXt-50",
        "1",
        "resnext50",
        256,
        cfg="resnext50",
        params_m="22.19",
        bflops="10.11",
        cio_m="34.4",
    ),
    Target(
        "csresnext50",
        "CSPResNeXt-50",
        "1",
        "cspresnext50",
        256,
        cfg="csresnext50",
        params_m="20.50",
        bflops="7.93",
        cio_m="32.6",
        baseline="resnext50",
    ),
    Target(
        "darknet53", "Darknet-53", "1", "darknet53", 256, cfg="darknet53", params_m="41.57", bflops="18.57"
    ),
    Target(
        "csdarknet53",
        "CSPDarknet-53",
        "1",
        "cspdarknet53",
        256,
        cfg="csdarknet53",
        params_m="27.61",
        bflops="13.07",
        baseline="darknet53",
    ),
    Target(
        "densenet201",
        "DenseNet-201 (darknet)",
        "1",
        "",
        256,
        cfg="densenet201",
        params_m="17.14",
        bflops="10.85",
    ),
    Target(
        "peleenet",
        "PeleeNet",
        "2",
        "peleenet",
        224,
        params_m="2.79",
        bflops="1.017",
        note="Table 1's darknet retraining; PeleeNet's paper: 2.8M params, 508M MACs",
    ),
    Target(
        "csppeleenet",
        "CSPPeleeNet (γ 0.5, csp)",
        "2",
        "csppeleenet",
        224,
        params_m="2.83",
        bflops="0.888",
        baseline="peleenet",
        note=_PELEE_NOTE,
    ),
    Target(
        "pelee_fusion_first",
        "PeleeNet fusion first (γ 0.5)",
        "2",
        "peleenet",
        224,
        knobs=(("gamma", 0.5), ("fusion", "fusion_first")),
        baseline="peleenet",
        note="paper: a large computation cut, top-1 −1.5 (no figure given); γ 0.5 assumed",
    ),
    Target(
        "pelee_fusion_last",
        "PeleeNet fusion last (γ 0.5)",
        "2",
        "peleenet",
        224,
        knobs=(("gamma", 0.5), ("fusion", "fusion_last")),
        baseline="peleenet",
        paper_change=-0.21,
        note="paper: computation −21%, top-1 −0.1; γ 0.5 assumed",
    ),
    Target(
        "pelee_gamma25",
        "CSPPeleeNet γ 0.25",
        "2",
        "peleenet",
        224,
        knobs=(("gamma", 0.25), ("fusion", "csp")),
        baseline="peleenet",
        paper_change=-0.11,
        note="paper text: computation −11%; for the final design −3% with top-1 +0.8",
    ),
    Target(
        "pelee_gamma50",
        "CSPPeleeNet γ 0.5",
        "2",
        "peleenet",
        224,
        knobs=(("gamma", 0.5), ("fusion", "csp")),
        bflops="0.888",
        baseline="peleenet",
        note="the CSPPeleeNet row again, as the ablation's γ = 0.5 point",
    ),
    Target(
        "pelee_gamma75",
        "CSPPeleeNet γ 0.75",
        "2",
        "peleenet",
        224,
        knobs=(("gamma", 0.75), ("fusion", "csp")),
        baseline="peleenet",
        note="the paper gives no figure for γ 0.75",
    ),
)


@dataclass(frozen=True)
class Row:
    """One line of the report: ours beside the paper's (``None`` where either is missing)."""

    key: str
    model: str
    section: str
    source: str
    input: int
    params_m: float | None
    paper_params_m: str | None
    params_diff_pct: float | None
    bflops: float | None
    paper_bflops: str | None
    bflops_diff_pct: float | None
    cio_m: float | None
    paper_cio_m: str | None
    cio_diff_pct: float | None
    change_pct: float | None
    paper_change_pct: float | None
    note: str


def _pct(ours: float | None, paper: str | float | None) -> float | None:
    if ours is None or paper is None:
        return None
    return (ours / float(paper) - 1.0) * 100.0


def _profile(target: Target, cfg_dir: Path) -> tuple[Profile | None, str]:
    if target.cfg is not None:
        path = cfg_dir / f"{target.cfg}.cfg"
        if path.is_file():
            return analyze(load(path, target.input)), f"{target.cfg}.cfg"
        if not target.model:
            return None, f"{target.cfg}.cfg not found in {cfg_dir}"
    config = resolve(target.model, **dict(target.knobs))
    return analyze(expand(config, target.input)), f"native {target.model}"


def _note(target: Target) -> str:
    if "{classifier_after_pool" not in target.note:
        return target.note
    after = replace(resolve(target.model), classifier_first=False)
    return target.note.format(classifier_after_pool=analyze(expand(after, target.input)).bflops_darknet)


def reproduce(cfg_dir: Path | None = None) -> list[Row]:
    """Every model of REFERENCE.md §1 and §2, ours beside the paper's. A model whose cfg is not in
    ``cfg_dir`` uses its native twin; an explicit ``cfg_dir`` must be a folder (only the default
    may be absent)."""
    if cfg_dir is not None:
        check_cfg_dir(cfg_dir)
    cfg_dir = default_cfg_dir() if cfg_dir is None else cfg_dir
    profiles: dict[str, Profile | None] = {}
    rows: list[Row] = []
    for target in PAPER:
        profile, source = _profile(target, cfg_dir)
        profiles[target.key] = profile
        params = bflops = cio = change = paper_change = None
        if profile is not None:
            params = profile.totals.params_conv / 1e6
            bflops = profile.bflops_darknet
            cio = profile.totals.cio_conv_pool / 1e6
        base = next((t for t in PAPER if t.key == target.baseline), None)
        if base is not None:
            base_profile = profiles.get(base.key)
            if base_profile is not None and bflops is not None:
                change = (bflops / base_profile.bflops_darknet - 1.0) * 100.0
            if target.paper_change is not None:
                paper_change = target.paper_change * 100.0
            else:
                paper_change = _pct(float(target.bflops), base.bflops) if target.bflops else None
        rows.append(
            Row(
                target.key,
                target.label,
                target.section,
                source,
                target.input,
                params,
                target.params_m,
                _pct(params, target.params_m),
                bflops,
                target.bflops,
                _pct(bflops, target.bflops),
                cio,
                target.cio_m,
                _pct(cio, target.cio_m),
                change,
                paper_change,
                _note(target),
            )
        )
    return rows


# --- rendering ----------------------------------------------------------------------------------


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: "—" if v is None else f"{v:.{digits}f}"


def _signed(v: float | None) -> str:
    # + 0.0 turns a rounded −0.0 into 0.0, so an exact match never prints as "-0.0%"
    return "—" if v is None else f"{round(v, 1) + 0.0:+.1f}%"


def _text(v: str | None) -> str:
    return "—" if v is None else v


# (Row field, header with unit, formatter)
COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("model", "model", str),
    ("source", "source", str),
    ("input", "input px", str),
    ("params_m", "params_conv M", _num(3)),
    ("paper_params_m", "paper", _text),
    ("params_diff_pct", "Δ", _signed),
    ("bflops", "BFLOPs", _num(3)),
    ("paper_bflops", "paper", _text),
    ("bflops_diff_pct", "Δ", _signed),
    ("cio_m", "CIO M elem", _num(2)),
    ("paper_cio_m", "paper", _text),
    ("cio_diff_pct", "Δ", _signed),
    ("change_pct", "BFLOPs vs base", _signed),
    ("paper_change_pct", "paper", _signed),
)

_FOOTER = (
    "params_conv M: conv and classifier weights in millions, no BN or bias (README #Parameter). "
    "BFLOPs: (2·conv MACs + Σ max/avg-pool k²·C·H_out·W_out)/1e9, darknet's convention. CIO M "
    "elem: input + output elements of conv and pool layers (conv+pool scope), batch 1, millions. "
    "Δ: ours ÷ paper − 1. vs base: change in BFLOPs against the model's baseline (ResNet-50, "
    "ResNeXt-50, Darknet-53, PeleeNet)."
)


def _cells(row: Row) -> list[str]:
    data = asdict(row)
    return [fmt(data[key]) for key, _, fmt in COLUMNS]


def _notes(rows: list[Row]) -> list[str]:
    return [f"{r.model}: {r.note}" for r in rows if r.note]


def render(rows: list[Row], fmt: Format | str = Format.table) -> str:
    """The comparison as a rich table, CSV, Markdown or JSON."""
    fmt = Format(fmt)
    if fmt is Format.json:
        return (
            json.dumps(
                {"conventions": _FOOTER, "rows": [asdict(r) for r in rows]}, indent=2, ensure_ascii=False
            )
            + "\n"
        )
    if fmt is Format.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        fields = list(asdict(rows[0])) if rows else []
        writer.writerow(fields)
        for r in rows:
            writer.writerow(["" if v is None else v for v in asdict(r).values()])
        return out.getvalue()
    headers = [h for _, h, _ in COLUMNS]
    if fmt is Format.markdown:
        lines = [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---" if i < 3 else "---:" for i in range(len(headers))) + "|",
        ]
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
        lines += ["", _FOOTER, "", *[f"- {n}" for n in _notes(rows)]]
        return "\n".join(lines) + "\n"
    return _rich(rows, headers)


def _rich(rows: list[Row], headers: list[str]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cspcost reproduce: ours vs the CSPNet paper (REFERENCE.md §1, §2)")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i < 3 else "right")
    section = rows[0].section if rows else ""
    for r in rows:
        if r.section != section:
            table.add_section()
            section = r.section
        table.add_row(*_cells(r))
    console = Console(width=180, record=True, force_terminal=False)
    with console.capture() as cap:
        console.print(table)
        console.print(_FOOTER, highlight=False)
        for n in _notes(rows):
            console.print(f"• {n}", highlight=False)
    return cap.get()


OUTPUTS = {"reproduce.csv": Format.csv, "reproduce.md": Format.markdown}
"""The files ``write`` puts into ``--out``."""


def write(rows: list[Row], out_dir: Path) -> list[Path]:
    """Write ``reproduce.csv`` and ``reproduce.md`` into ``out_dir`` atomically (``reports.output``:
    a file of the same name is replaced only when cspcost wrote it)."""
    from reports.output import write_files

    return write_files(out_dir, {name: render(rows, fmt).encode() for name, fmt in OUTPUTS.items()})
