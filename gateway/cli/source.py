"""``gateway source``: the platform database, synthetic here."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import JsonOption, emit, refusals

app = typer.Typer(help="The platform database (synthetic here).", no_args_is_help=True)


@app.command("generate")
def source_generate(
    members: Annotated[int, typer.Option("--members", help="Number of member accounts.")],
    out: Annotated[Path, typer.Option("--out", help="Database file to write, e.g. SRC.duckdb.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 0,
    as_of: Annotated[
        datetime.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Snapshot date: the data ends the day before. Default: today.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a synthetic Health-Thing platform database (deterministic for a seed)."""
    from gateway.source.generate import generate

    with refusals(as_json):
        summary = generate(
            members,
            seed,
            out,
            as_of=as_of.date() if as_of else None,
            force=force,
            progress=not as_json and sys.stderr.isatty(),
        )

    def human() -> None:
        counts = ", ".join(f"{rows:,} {table}" for table, rows in summary.row_counts.items())
        typer.echo(f"wrote {out} in {summary.seconds:.1f} s (snapshot {summary.snapshot_at})")
        typer.echo(f"  {counts}")

    emit(summary, as_json, human)
