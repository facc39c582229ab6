"""``gateway``: the command line of the research gateway (DESIGN.md section 5).

Heavy libraries (OpenDP, Polars, FastAPI) are imported inside commands, so
``gateway --help`` and ``gateway vet`` start fast. Every command takes
``--json``; every refusal is one clear line (or a JSON object) and exit 1.
"""

from __future__ import annotations

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
# (commands for this section go here)


# ---------------------------------------------------------------- extract build / status / dummy
# (commands for this section go here)


@extract_app.command("dummy")
def extract_dummy(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the dummy extract.")],
    members: Annotated[int, typer.Option("--members", help="Synthetic members.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same values.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Write a dummy extract: the policy's schema, synthetic values, no real member."""
    from gateway.extract.dummy import build_dummy
    from gateway.policy import load_policy

    with refusals(as_json):
        manifest = build_dummy(load_policy(policy), out, members=members, seed=seed)

    def human() -> None:
        counts = ", ".join(f"{t} {n:,}" for t, n in manifest.row_counts.items())
        typer.echo(f"dummy extract {out}: {counts}")
        typer.echo("synthetic values only, unencrypted; results on it are labelled dummy")

    emit(manifest, as_json, human)


# ---------------------------------------------------------------- rights import
# (commands for this section go here)


# ---------------------------------------------------------------- vet
# (commands for this section go here)


# ---------------------------------------------------------------- run
# (commands for this section go here)


# ---------------------------------------------------------------- analysis run
# (commands for this section go here)


def _cell(value: object, interval: tuple[float, float] | None) -> str:
    shown = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"{shown} [{interval[0]:.4g}, {interval[1]:.4g}]" if interval else shown


@analysis_app.command("run")
def analysis_run(
    extract: Annotated[Path, typer.Option("--extract", help="Extract (or dummy) to run on.")],
    policy: PolicyOption,
    file: Annotated[Path, typer.Option("--file", help="The analysis, a Python file.")],
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="ε for the whole analysis [default: the policy's]."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a Python analysis: build its plan without data, vet it, release DP results."""
    from gateway.config import get_settings
    from gateway.pipeline import run_analysis
    from gateway.policy import load_policy

    with refusals(as_json):
        loaded = load_policy(policy)
        given = loaded.budget.default_query_epsilon if epsilon is None else epsilon
        result = run_analysis(file, extract, loaded, given, get_settings())

    def human() -> None:
        if result.dummy:
            typer.secho("DUMMY DATA: synthetic values, not an insight; no budget spent", bold=True)
        for named in result.results:
            release = named.release
            typer.echo(f"\n{named.name}  (ε {named.epsilon:g}, {release.mechanism})")
            typer.echo("  " + " | ".join(release.columns))
            for row, intervals in zip(release.rows, release.ci, strict=True):
                cells = (_cell(v, i) for v, i in zip(row, intervals, strict=True))
                typer.echo("  " + " | ".join(cells))
            if release.suppressed_groups:
                typer.echo(f"  ({release.suppressed_groups} small groups withheld)")
        typer.echo(
            f"\n{result.name}: ε spent {result.epsilon_spent:g} "
            f"(planned {result.epsilon_planned:g} of {result.epsilon_given:g} given); "
            "values with 95% confidence intervals"
        )

    emit(result, as_json, human)


# ---------------------------------------------------------------- serve / worker / demo
# (commands for this section go here)


# ---------------------------------------------------------------- audit verify
# (commands for this section go here)


if __name__ == "__main__":  # pragma: no cover
    app()
