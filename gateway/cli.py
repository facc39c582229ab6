"""``gateway``: the command line of the research gateway (DESIGN.md section 5).

Heavy libraries (OpenDP, Polars, FastAPI) are imported inside commands, so
``gateway --help`` and ``gateway vet`` start fast. Every command takes
``--json``; every refusal is one clear line (or a JSON object) and exit 1.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.errors import GatewayError

app = typer.Typer(
    help="Health-Thing research gateway: differentially private insights, never the data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
source_app = typer.Typer(help="The platform database (synthetic here).", no_args_is_help=True)
extract_app = typer.Typer(
    help="Pseudonymised, consent-aware, encrypted extracts.", no_args_is_help=True
)
rights_app = typer.Typer(help="Members' rights changes from the platform.", no_args_is_help=True)
analysis_app = typer.Typer(help="Python analyses, run without data.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(extract_app, name="extract")
app.add_typer(rights_app, name="rights")
app.add_typer(analysis_app, name="analysis")
app.add_typer(audit_app, name="audit")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PolicyOption = Annotated[
    Path, typer.Option("--policy", help="Policy file, e.g. policies/health_thing.yaml.")
]


def emit(payload: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``payload`` as JSON, or call ``human`` to render it for people."""
    if as_json:
        if hasattr(payload, "model_dump"):
            payload = payload.model_dump(mode="json")
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        human()


@contextmanager
def refusals(as_json: bool) -> Iterator[None]:
    """Turn a ``GatewayError`` into one clear message and exit status 1."""
    try:
        yield
    except GatewayError as err:
        if as_json:
            typer.echo(json.dumps({"error": err.to_dict()}, indent=2, default=str))
        else:
            typer.secho(f"error [{err.code}]: {err.message}", err=True, fg="red")
            for issue in err.issues:
                typer.echo(f"  - [{issue.code}] {issue.message}", err=True)
            if err.hint:
                typer.echo(f"hint: {err.hint}", err=True)
        raise typer.Exit(1) from None


def read_sql(sql: str | None, sql_file: Path | None) -> str:
    """SQL from ``--sql "..."``, ``--sql -`` (standard input) or ``--sql-file``."""
    if (sql is None) == (sql_file is None):
        raise typer.BadParameter("give exactly one of --sql or --sql-file")
    if sql_file is not None:
        return sql_file.read_text(encoding="utf-8")
    assert sql is not None
    return sys.stdin.read() if sql == "-" else sql


# ---------------------------------------------------------------- source generate


@source_app.command("generate")
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


# ---------------------------------------------------------------- extract build / status / dummy
# (commands for this section go here)


# ---------------------------------------------------------------- rights import
# (commands for this section go here)


# ---------------------------------------------------------------- vet
# (commands for this section go here)


# ---------------------------------------------------------------- run
# (commands for this section go here)


# ---------------------------------------------------------------- analysis run
# (commands for this section go here)


# ---------------------------------------------------------------- serve / worker / demo
# (commands for this section go here)


# ---------------------------------------------------------------- audit verify
# (commands for this section go here)


if __name__ == "__main__":  # pragma: no cover
    app()
