"""The ``nnft`` command line (Typer + Rich).

Commands::

    nnft meanfield --activation tanh --sw2 1.5 --sb2 0.05 [--json]
    nnft kernel INPUTS.npy|.csv --depth 3 --activation relu --sw2 2 --sb2 0.1 [--json]
    nnft phase-diagram --activation tanh --out fig.png [--sw2-min ... --points N]
    nnft reproduce [NAME|all] [--scale quick|paper] [--out DIR] [--seed S] [--strict]

plus the command groups that other modules register (see :func:`_register_subcommands` at the end).

Bad input — an unknown activation, a negative or non-finite variance, a zero depth, kernel inputs with
NaN or of the wrong shape, an empty grid, a missing or unreadable input file — ends the command with
exactly one line on stderr, ``error: <parameter>: <message>``, and exit code 2; never a traceback.
(:class:`nnft.errors.NNFTInputError` is caught here, at the boundary, and nowhere deeper.)

JSON output (``--json``): one JSON object on stdout. Strict JSON has no inf/nan, so non-finite
numbers are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (e.g. ``xi_c`` is ``"inf"`` on the
critical line and the fixed points are ``"nan"``/``"inf"`` in the unbounded phase): the strings keep
"diverges" and "undefined" apart, which ``null`` would not.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from .errors import NNFTInputError, check_positive_int

__all__ = ["app", "main"]

app = typer.Typer(
    name="nnft",
    help="Statistical field theory of random neural networks: mean field, NNGP kernels, reproductions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

EXIT_BAD_INPUT = 2


# ---------------------------------------------------------------------------- error boundary
def _fail(parameter: str, message: str) -> typer.Exit:
    """Print ``error: <parameter>: <message>`` (one line) on stderr and return the Exit(2) to raise."""
    msg = " ".join(f"{parameter}: {message}".split())  # one line, whatever the message held
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _input_boundary(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`NNFTInputError` raised by a command into one stderr line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NNFTInputError as e:
            raise _fail(e.parameter, str(e).removeprefix(f"{e.parameter}: ")) from None

    return wrapper


def _dumps(obj: Any) -> str:
    from .reproduce.base import jsonable

    return json.dumps(jsonable(obj), allow_nan=False)


def _fmt(x: float) -> str:
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.6g}"


# ---------------------------------------------------------------------------- meanfield
ActivationOpt = Annotated[str, typer.Option("--activation", "-a", help="activation name (e.g. tanh, relu, erf)")]
Sw2Opt = Annotated[float, typer.Option("--sw2", help="weight variance σw² (W ~ N(0, σw²/fan_in)), >= 0")]
Sb2Opt = Annotated[float, typer.Option("--sb2", help="bias variance σb², >= 0")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")]


@app.command("meanfield")
@_input_boundary
def meanfield_cmd(
    activation: ActivationOpt = "tanh",
    sw2: Sw2Opt = 1.5,
    sb2: Sb2Opt = 0.05,
    as_json: JsonOpt = False,
) -> None:
    """Mean-field fixed points, χ₁, Lyapunov exponent and depth scales at one (σw², σb²).

    Poole et al. 2016 / Schoenholz et al. 2017: q* = σw² E[φ(√q* z)²] + σb², χ₁ = σw² E[φ'(√q* z)²],
    λ = ½ ln χ₁, ξ_q = −1/ln χ_∥, ξ_c = −1/ln(σw² E[φ'(u₁)φ'(u₂)]) at (q*, c*).
    """
    from .activations import get_activation
    from .errors import check_variance
    from .meanfield import mean_field

    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    act = get_activation(activation)
    mf = mean_field(act, sw2, sb2)
    if as_json:
        typer.echo(_dumps(mf.as_dict()))
        return
    table = Table(title=f"mean field: {mf.activation}, σw² = {mf.sw2:g}, σb² = {mf.sb2:g}")
    table.add_column("quantity")
    table.add_column("symbol")
    table.add_column("value", justify="right")
    rows = [
        ("length fixed point", "q*", mf.q_star),
        ("correlation fixed point", "c*", mf.c_star),
        ("perpendicular susceptibility", "χ₁", mf.chi1),
        ("parallel susceptibility", "χ_∥", mf.chi_par),
        ("Lyapunov exponent per layer", "λ = ½ ln χ₁", mf.lyapunov),
        ("length depth scale", "ξ_q", mf.xi_q),
        ("correlation depth scale", "ξ_c", mf.xi_c),
    ]
    for name, sym, val in rows:
        table.add_row(name, sym, _fmt(val))
    table.add_row("phase", "", mf.phase)
    _out.print(table)


# ---------------------------------------------------------------------------- kernel
def _load_inputs(path: Path) -> np.ndarray:
    """Read an (M, d_in) input matrix from ``.npy`` or ``.csv`` (comma-separated, no header)."""
    if not path.exists():
        raise NNFTInputError("inputs", f"file not found: {path}")
    if path.is_dir():
        raise NNFTInputError("inputs", f"is a directory, not a .npy/.csv file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            X = np.loadtxt(path, delimiter=",", ndmin=2, dtype=float)
        else:
            raise NNFTInputError("inputs", f"unsupported file type {suffix or '(none)'!r}; use .npy or .csv")
    except NNFTInputError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise NNFTInputError("inputs", f"cannot read {path}: {e}") from None
    if X.dtype.kind not in "biuf":
        raise NNFTInputError("inputs", f"must hold real numbers, got dtype {X.dtype} in {path}")
    if X.ndim != 2:
        raise NNFTInputError("inputs", f"must be a 2-D array of shape (M, d_in), got shape {X.shape} in {path}")
    return X


@app.command("kernel")
@_input_boundary
def kernel_cmd(
    inputs: Annotated[Path, typer.Argument(help="inputs, one per row: .npy (M, d_in) array or .csv")],
    depth: Annotated[int, typer.Option("--depth", "-L", help="network depth L >= 1 (kernel of z^L)")] = 1,
    activation: ActivationOpt = "relu",
    sw2: Sw2Opt = 2.0,
    sb2: Sb2Opt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """NNGP kernel K^L (M×M) of a depth-L fully connected network on the given inputs.

    K¹ = σw² XXᵀ/d_in + σb², K^l = σw² E_{K^{l-1}}[φ(z_a)φ(z_b)] + σb² (docs/conventions.md).
    """
    from .activations import get_activation
    from .errors import check_variance
    from .kernels import nngp_kernel

    # validate every option before touching the file or computing anything
    check_positive_int("depth", depth)
    sw2 = check_variance("sw2", sw2)
    sb2 = check_variance("sb2", sb2)
    act = get_activation(activation)
    X = _load_inputs(inputs)
    K = np.asarray(nngp_kernel(X, depth, act, sw2, sb2))
    if as_json:
        typer.echo(_dumps({"kernel": K}))
        return
    M = K.shape[0]
    table = Table(title=f"NNGP kernel K^{depth}: {act.name}, σw² = {sw2:g}, σb² = {sb2:g}, M = {M}")
    shown = min(M, 12)
    table.add_column("")
    for j in range(shown):
        table.add_column(str(j), justify="right")
    for i in range(shown):
        table.add_row(str(i), *(f"{K[i, j]:.6g}" for j in range(shown)))
    _out.print(table)
    if shown < M:
        _out.print(f"(showing the leading {shown}×{shown} block of {M}×{M}; use --json for all)")


# ---------------------------------------------------------------------------- phase diagram
@app.command("phase-diagram")
@_input_boundary
def phase_diagram_cmd(
    activation: ActivationOpt = "tanh",
    out: Annotated[Path, typer.Option("--out", "-o", help="output image (.png, .pdf, .svg)")] = Path("phase_diagram.png"),
    sw2_min: Annotated[float, typer.Option(help="smallest σw² of the grid")] = 0.5,
    sw2_max: Annotated[float, typer.Option(help="largest σw² of the grid")] = 4.0,
    sb2_min: Annotated[float, typer.Option(help="smallest σb² of the grid")] = 0.0,
    sb2_max: Annotated[float, typer.Option(help="largest σb² of the grid")] = 0.5,
    points: Annotated[int, typer.Option(help="grid points per axis (>= 1)")] = 100,
) -> None:
    """Phase diagram: Lyapunov exponent ½ ln χ₁ over a (σw², σb²) grid with the critical line χ₁ = 1."""
    from .activations import get_activation
    from .errors import check_grid
    from .meanfield import phase_diagram

    points = check_positive_int("points", points)
    for name, lo, hi in (("sw2", sw2_min, sw2_max), ("sb2", sb2_min, sb2_max)):
        if np.isfinite(lo) and np.isfinite(hi) and hi < lo:
            raise NNFTInputError(f"{name}-max", f"must be >= {name}-min ({lo:g}), got {hi:g}")
    sw = check_grid("sw2", np.linspace(sw2_min, sw2_max, points))
    sb = check_grid("sb2", np.linspace(sb2_min, sb2_max, points))
    act = get_activation(activation)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg"):
        raise NNFTInputError("out", f"unsupported image type {out.suffix or '(none)'!r}; use .png, .pdf or .svg")
    pd = phase_diagram(act, sw, sb)
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = pd.plot()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
    except OSError as e:
        raise NNFTInputError("out", f"cannot write {out}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
    ok = np.isfinite(pd.critical_sw2)
    typer.echo(f"wrote {out} ({points}×{points} grid, {int(ok.sum())} σb² rows with a critical point)")


# ---------------------------------------------------------------------------- reproduce
class Scale(str, Enum):
    quick = "quick"
    paper = "paper"


@app.command("reproduce")
@_input_boundary
def reproduce_cmd(
    name: Annotated[str, typer.Argument(help="reproduction to run, or 'all'")] = "all",
    scale: Annotated[Scale, typer.Option(help="quick: < 1 min on 2 cores; paper: the paper's sizes")] = Scale.quick,
    out: Annotated[Path, typer.Option("--out", "-o", help="report directory")] = Path("nnft-report"),
    seed: Annotated[int, typer.Option(help="root seed (jax.random.key(seed))")] = 0,
    strict: Annotated[bool, typer.Option(help="exit with code 1 if any metric fails")] = False,
) -> None:
    """Run reproductions (theory vs simulation) and write DIR/report.html and DIR/<name>/metrics.json."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .report import build_report
    from .reproduce import get_reproduction, reproduction_names, run_reproduction

    names = list(reproduction_names()) if name == "all" else [get_reproduction(name).name]
    if out.exists() and not out.is_dir():
        raise NNFTInputError("out", f"exists and is not a directory: {out}")
    results = []
    with Progress(
        TextColumn("[bold]{task.fields[repro]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=_err,
    ) as progress:
        for n in names:
            task = progress.add_task("starting", total=None, repro=n)

            def cb(done: int, total: int, description: str, task=task) -> None:
                progress.update(task, completed=done, total=total, description=description)

            results.append(run_reproduction(n, scale=scale.value, out_dir=out, seed=seed, progress=cb))
    report = build_report(out)
    table = Table(title=f"reproductions ({scale.value})")
    for col in ("reproduction", "passed", "result", "time"):
        table.add_column(col)
    for r in results:
        mark = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
        table.add_row(r.name, f"{r.n_passed}/{len(r.metrics)}", mark, f"{r.elapsed_s:.1f} s")
    _out.print(table)
    for r in results:
        for m in r.metrics:
            if not m.passed:
                _out.print(f"[red]FAIL[/] {r.name}: {m.name}: {m.value:.6g} vs {m.reference:.6g} (tolerance {m.tolerance:.3g})")
    _out.print(f"report: {report}")
    if strict and not all(r.passed for r in results):
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``nnft = "nnft.cli:main"``).

    Besides running the Typer app, it turns command-line *usage* errors (an option given a value that is
    not a number, an unknown option, a missing argument) into the same one-line ``error: ...`` on
    stderr with exit code 2.
    """
    try:
        rv = app(args=argv, prog_name="nnft", standalone_mode=False)
    except typer.TyperException as e:  # typer's (vendored click) usage errors derive from this
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `nnft`: show the help, as click would
            e.show()
            sys.exit(e.exit_code)
        param = getattr(e, "param", None)
        opts = getattr(param, "opts", None) or []
        pname = (opts[0] if opts else getattr(param, "name", None)) or "usage"
        msg = " ".join(e.format_message().split())
        typer.echo(f"error: {pname.lstrip('-')}: {msg}", err=True)
        sys.exit(getattr(e, "exit_code", EXIT_BAD_INPUT))
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


# ---------------------------------------------------------------------------- other command groups
def _register_subcommands(app: typer.Typer) -> None:
    """Let other modules add their commands: each exposes ``register(app: typer.Typer) -> None``.

    Registered here (add new groups to this list):

    * ``nnft.run.cli`` — ``nnft sample`` (the ensemble engine).

    TRANSITIONAL: while ``nnft.run.cli`` is being written it may not exist yet, so it is looked up with
    ``importlib.util.find_spec`` and skipped when absent. This is deliberately not a try/except around
    the import: once the module exists, any error inside it surfaces. Remove the ``find_spec`` guard
    when ``nnft.run.cli`` has landed.
    """
    if importlib.util.find_spec("nnft.run") is None or importlib.util.find_spec("nnft.run.cli") is None:
        return
    from .run.cli import register as _register_run

    _register_run(app)


_register_subcommands(app)
