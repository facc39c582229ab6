"""``gateway vet``, ``gateway run`` and ``gateway analysis run``: questions to the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.options import (
    ClampOption,
    EpsilonOption,
    GroupsOption,
    InsecureOption,
    PolicyOption,
    RowsPerGroupOption,
    SqlFileOption,
    SqlOption,
    fixed_bounds,
    read_sql,
    settings_for,
)
from gateway.cli.output import JsonOption, emit, refusals

if TYPE_CHECKING:
    from gateway.policy.model import Policy

app = typer.Typer()
analysis_app = typer.Typer(help="Python analyses, run without data.", no_args_is_help=True)


def counted(sql: str, policy: Policy) -> dict[str, Any]:
    """What an accepted query counts (its table, each column's function), for the words
    ``render_release`` puts under a release."""
    from gateway.errors import VetError
    from gateway.vet import vet

    try:
        plan = vet(sql, policy)
    except VetError:
        return {}
    return {"table": plan.table, "aggregates": {a.alias: a.function for a in plan.aggregates}}


# ---------------------------------------------------------------- vet


@app.command("vet")
def vet_command(
    policy: PolicyOption,
    sql: SqlOption = None,
    sql_file: SqlFileOption = None,
    epsilon: EpsilonOption = None,
    accuracy: Annotated[
        bool,
        typer.Option(
            "--accuracy/--no-accuracy",
            help="Predict each aggregate's 95% error at this ε (loads the DP library; "
            "--no-accuracy answers fastest).",
        ),
    ] = True,
    rows_per_group: RowsPerGroupOption = None,
    groups: GroupsOption = None,
    clamp: ClampOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a query against the policy without running it: its plan, or every problem.

    Bounds left out are chosen per query with DP when it runs, so its accuracy
    is known only after the release. With every bound fixed (--rows-per-group,
    --groups, --clamp for each measure), an allowed query also gets its
    predicted accuracy: the expected 95% error half-width of each aggregate at
    this ε, from the mechanism that would run. Exit status 0 when the query
    would be answered, 1 when it is refused.
    """
    from gateway.policy import load_policy
    from gateway.vet import vet_report
    from gateway.vet.render import render_issues, render_plan

    with refusals(as_json):
        text = read_sql(sql, sql_file)
        loaded = load_policy(policy)
        bounds = fixed_bounds(rows_per_group, groups, clamp)
        report = vet_report(text, loaded, epsilon, bounds)
        predicted: dict[str, float] | None = None
        expected: list[str] = []
        fixed = report.bounds is not None and not report.bounds.chosen
        if accuracy and report.plan is not None and fixed:
            from gateway.dp.accuracy import KeptAccuracy, kept_accuracy
            from gateway.dp.release import MEAN_GROUP, per_aggregate

            kept = KeptAccuracy(settings_for())
            predicted = kept_accuracy(report.plan, loaded, report.epsilon, kept)
            for alias, half_width, mean in per_aggregate(predicted):
                group = f" in a group of {MEAN_GROUP:,} values" if mean else ""
                expected.append(f"expected 95% error of {alias}: ± {half_width:,.4g}{group}")
    payload = report.model_dump(mode="json")
    payload["accuracy"] = predicted

    def human() -> None:
        if report.plan is not None:
            typer.echo(f"allowed, at ε = {report.epsilon:g}\n{render_plan(report.plan, loaded)}")
            if report.bounds is not None and report.bounds.note:
                typer.echo(f"  {report.bounds.note}")
            for line in expected:
                typer.echo(f"  {line}")
        else:
            typer.echo(render_issues(text, report.violations))

    emit(payload, as_json, human)
    raise typer.Exit(0 if report.allowed else 1)


# ---------------------------------------------------------------- run


@app.command("run")
def run_command(
    extract: Annotated[
        Path, typer.Option("--extract", help="The extract to query.", dir_okay=False)
    ],
    policy: PolicyOption,
    epsilon: Annotated[float, typer.Option("--epsilon", help="ε to spend on this query.")],
    sql: SqlOption = None,
    sql_file: SqlFileOption = None,
    rows_per_group: RowsPerGroupOption = None,
    groups: GroupsOption = None,
    clamp: ClampOption = None,
    insecure_no_sandbox: InsecureOption = False,
    as_json: JsonOption = False,
) -> None:
    """Answer a query with differentially private numbers and their 95% intervals.

    The query is vetted, then run in the sandbox over the extract. Each
    query's contribution bounds and clamp ranges are chosen with DP within the
    policy's maxima, unless fixed here. The same query on the same extract at
    the same ε (and bounds) is answered from the release store, at no cost.
    """
    from gateway.pipeline import run_query
    from gateway.policy import load_policy
    from gateway.vet.kept import KeptPlans

    with refusals(as_json):
        text = read_sql(sql, sql_file)
        loaded = load_policy(policy)
        bounds = fixed_bounds(rows_per_group, groups, clamp)
        settings = settings_for(insecure_no_sandbox)
        release = run_query(
            text,
            extract,
            loaded,
            epsilon,
            settings,
            contributions=bounds.contributions if bounds else None,
            clamps=bounds.clamps if bounds else None,
            plans=KeptPlans(settings),
        )

    def human() -> None:  # rich and the table load only for people, not for --json
        from rich.console import Console

        from gateway.dp.render import render_release

        Console().print(render_release(release, **counted(text, loaded)))

    emit(release, as_json, human)


# ---------------------------------------------------------------- analysis run


@analysis_app.command("run")
def analysis_run(
    extract: Annotated[Path, typer.Option("--extract", help="Extract (or dummy) to run on.")],
    policy: PolicyOption,
    file: Annotated[Path, typer.Option("--file", help="The analysis, a Python file.")],
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="ε for the whole analysis [default: the policy's]."),
    ] = None,
    insecure_no_sandbox: InsecureOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run a Python analysis: build its plan without data, vet it, release DP results."""
    from rich.console import Console
    from rich.markup import escape

    from gateway.dp.render import render_release
    from gateway.pipeline import run_analysis
    from gateway.policy import load_policy
    from gateway.policy.epsilon import asked_epsilon

    with refusals(as_json):
        loaded = load_policy(policy)
        given = asked_epsilon(loaded, epsilon)
        result = run_analysis(file, extract, loaded, given, settings_for(insecure_no_sandbox))

    def human() -> None:
        console = Console()
        if result.output:
            console.print(escape(result.output.rstrip()), style="dim")
        if result.dummy:
            console.print(
                "DUMMY DATA: synthetic values, not an insight; no budget spent", style="bold"
            )
        for named in result.results:
            console.print(f"\n[bold]{escape(named.name)}[/bold] (share {named.share:g} of ε)")
            console.print(render_release(named.release, **counted(named.sql, loaded)))
        console.print(
            f"\n{escape(result.name)}: ε spent {result.epsilon_spent:g} "
            f"(planned {result.epsilon_planned:g} of {result.epsilon_given:g} given)"
        )

    emit(result, as_json, human)
