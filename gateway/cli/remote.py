"""``gateway remote``: the researcher's verbs against a running gateway, over its API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.options import EpsilonOption, SqlFileOption, SqlOption, read_sql
from gateway.cli.output import JsonOption, emit, refusals

if TYPE_CHECKING:
    from gateway.client import Client

app = typer.Typer(
    help="The researcher's verbs against a running gateway, with GATEWAY_URL and GATEWAY_TOKEN.",
    no_args_is_help=True,
)
UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="GATEWAY_URL", help="The gateway's address.", show_default=True),
]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="GATEWAY_TOKEN",
        help="Your API token (from an administrator); best set in the environment.",
        show_default=False,
    ),
]
ProjectOption = Annotated[int, typer.Option("--project", help="The approved project's id.")]


def _client(url: str, token: str) -> Client:
    from gateway.client import Client

    if not token:
        raise typer.BadParameter("set GATEWAY_TOKEN (or --token) to your API token")
    return Client(url, token)


def _print_table(table: dict[str, Any]) -> None:
    """A release table as aligned text: keys, then each aggregate and its interval's ends."""
    cells = [table["columns"]] + [
        [
            "" if cell is None else f"{cell:.6g}" if isinstance(cell, float) else str(cell)
            for cell in row
        ]
        for row in table["rows"]
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table["columns"]))]
    for row in cells:
        typer.echo("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


@app.command("vet")
def remote_vet(
    project: ProjectOption,
    sql: SqlOption = None,
    sql_file: SqlFileOption = None,
    epsilon: EpsilonOption = None,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """What the gateway's policy says of a query, its cost and the budget left; exit 1 if
    refused."""
    with refusals(as_json), _client(url, token) as client:
        verdict = client.vet(project, read_sql(sql, sql_file), epsilon)
    emit(verdict, as_json, lambda: typer.echo(verdict["rendered"]))
    if not verdict["allowed"]:
        raise typer.Exit(1)


@app.command("run")
def remote_run(
    project: ProjectOption,
    sql: SqlOption = None,
    sql_file: SqlFileOption = None,
    epsilon: EpsilonOption = None,
    dummy: Annotated[
        bool, typer.Option("--dummy", help="Run on the policy's dummy data: free, not an insight.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the release.")
    ] = 300.0,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Submit a query, wait for its release and print it (JSON: the release with its
    metadata and its table)."""
    with refusals(as_json), _client(url, token) as client:
        job = client.submit(project, read_sql(sql, sql_file), epsilon, dummy=dummy)
        client.wait(job["id"], timeout=timeout)
        release = client.metadata(job["id"])

    def human() -> None:
        for table in release["tables"]:
            _print_table(table)
        label = " (dummy data)" if job["dummy"] else ""
        typer.echo(
            f"job {job['id']}{label}: ε = {release['epsilon_charged']:g}, "
            f"δ = {release['delta_charged']:g} charged"
        )

    emit(release, as_json, human)


@app.command("jobs")
def remote_jobs(
    project: Annotated[
        int | None, typer.Option("--project", help="Only this project's jobs.")
    ] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Your jobs, newest first, with their status."""
    with refusals(as_json), _client(url, token) as client:
        jobs = client.jobs(project)

    def human() -> None:
        for job in jobs:
            label = " dummy" if job["dummy"] else ""
            typer.echo(f"{job['id']:>6}  {job['status']:<18} ε={job['epsilon']:<6g}{label}")

    emit(jobs, as_json, human)


@app.command("release")
def remote_release(
    job: Annotated[int, typer.Argument(help="The job whose release to fetch.")],
    file_format: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    part: Annotated[str | None, typer.Option("--part", help="An analysis's part, by name.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: standard output).")
    ] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """Fetch a job's release: keys, then x, x_low, x_high per aggregate x."""
    if as_json:
        file_format = "json"
    if file_format not in ("csv", "parquet", "json"):
        raise typer.BadParameter("--format is csv, parquet or json")
    if file_format == "parquet" and out is None:
        raise typer.BadParameter("Parquet is binary: give --out FILE")
    with refusals(as_json), _client(url, token) as client:
        body = client.download(job, file_format, part)  # type: ignore[arg-type]
    if out is not None:
        out.write_bytes(body)
        typer.echo(f"wrote {out}", err=True)
    else:
        sys.stdout.write(body.decode("utf-8"))


@app.command("budget")
def remote_budget(
    project: ProjectOption,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = "",
    as_json: JsonOption = False,
) -> None:
    """A project's ε and δ: granted, held, spent and remaining."""
    with refusals(as_json), _client(url, token) as client:
        budget = client.budget(project)

    def human() -> None:
        typer.echo(
            f"ε: granted {budget['granted']:g}, held {budget['held']:g}, "
            f"spent {budget['spent']:g}, remaining {budget['remaining']:g}"
        )
        typer.echo(
            f"δ: granted {budget['granted_delta']:g}, held {budget['held_delta']:g}, "
            f"spent {budget['spent_delta']:g}, remaining {budget['remaining_delta']:g}"
        )

    emit(budget, as_json, human)
