"""The ``nnft sample`` command. The main CLI (``nnft.cli``) calls :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import NNFTInputError

__all__ = ["register", "parse_orders"]

EXIT_BAD_INPUT = 2


def parse_orders(text: str | None) -> tuple[int, ...]:
    """``"2,4,6"`` → ``(2, 4, 6)``; empty/None → ``()``."""
    if not text:
        return ()
    try:
        orders = tuple(sorted({int(t) for t in text.replace(" ", "").split(",") if t}))
    except ValueError:
        raise NNFTInputError("npoint", f"must be comma-separated integers such as 2,4,6, got {text!r}") from None
    if any(n < 1 for n in orders):
        raise NNFTInputError("npoint", f"orders must be >= 1, got {text!r}")
    return orders


def register(app: typer.Typer) -> None:
    """Add ``nnft sample CONFIG.toml --out DIR ...`` to ``app``."""

    @app.command("sample")
    def sample(
        config: Annotated[Path, typer.Argument(help="Run spec: a TOML file with tables \\[network], \\[inputs], \\[ensemble].")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Run directory (zarr store); rerun the same command to resume.")],
        executor: Annotated[str, typer.Option(help="serial | dask")] = "serial",
        scheduler: Annotated[
            str | None, typer.Option(help="Dask scheduler address (tcp://HOST:PORT), with --executor dask.")
        ] = None,
        chunk_size: Annotated[
            int | None, typer.Option("--chunk-size", help="Networks per chunk (default: ensemble.chunk_size). Does not change results.")
        ] = None,
        n_batches: Annotated[
            int | None, typer.Option("--batches", help="Statistical batches for batch-to-batch spreads (default 10).")
        ] = None,
        npoint: Annotated[
            str | None, typer.Option(help="n-point moment orders of the output over the inputs, e.g. 2,4,6.")
        ] = None,
        stats_only: Annotated[bool, typer.Option("--stats-only", help="Keep only statistics, no per-network records.")] = False,
        max_chunks: Annotated[
            int | None, typer.Option("--max-chunks", help="Stop after this many chunks (resume later with the same command).")
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    ) -> None:
        """Sample a random-network ensemble into a resumable zarr store; result in OUT/result."""
        try:
            _sample(config, out, executor, scheduler, chunk_size, n_batches, npoint, stats_only, max_chunks, quiet)
        except NNFTInputError as e:  # bad input: one line on stderr, exit code 2 (as the main CLI does)
            typer.echo("error: " + " ".join(str(e).split()), err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None


def _sample(
    config: Path,
    out: Path,
    executor: str,
    scheduler: str | None,
    chunk_size: int | None,
    n_batches: int | None,
    npoint: str | None,
    stats_only: bool,
    max_chunks: int | None,
    quiet: bool,
) -> None:
    from .executor import sample_run

    if executor not in ("serial", "dask"):
        raise NNFTInputError("executor", f"unknown executor {executor!r}; allowed: serial, dask")
    summary = sample_run(
        config,
        out,
        chunk_size=chunk_size,
        n_batches=n_batches,
        executor=executor,
        scheduler=scheduler,
        keep_records=not stats_only,
        npoint_orders=parse_orders(npoint),
        quiet=quiet,
        max_chunks=max_chunks,
    )
    if not quiet:
        if summary.complete:
            what = "already complete" if summary.computed == 0 and summary.reused == summary.n_chunks else "done"
            typer.echo(
                f"{what}: {summary.n_networks} networks in {summary.n_chunks} chunks "
                f"({summary.computed} computed, {summary.reused} reused) -> {summary.result}"
            )
        else:
            typer.echo(
                f"stopped after {summary.computed} chunks ({summary.n_chunks} of the run done); "
                f"rerun the same command to continue"
            )
