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
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from gateway.client import Client
    from gateway.config import Settings
    from gateway.policy.model import Policy
    from gateway.service.accounts import IssuedToken
    from gateway.vet.bounds import FixedBounds

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
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure-no-sandbox",
        help="Run without isolation, for local development on dummy data only. "
        "Refused when GATEWAY_ENVIRONMENT=production.",
    ),
]
PolicyOption = Annotated[
    Path, typer.Option("--policy", help="Policy file, e.g. policies/health_thing.yaml.")
]
RowsPerGroupOption = Annotated[
    int | None,
    typer.Option(
        "--rows-per-group",
        min=1,
        help="Fix the rows of one member counted in one cell, within the policy's maximum "
        "[default: chosen per query with DP].",
    ),
]
GroupsOption = Annotated[
    int | None,
    typer.Option(
        "--groups",
        min=1,
        help="Fix the cells one member counts in, within the policy's maximum "
        "[default: chosen per query with DP].",
    ),
]
ClampOption = Annotated[
    list[str] | None,
    typer.Option(
        "--clamp",
        metavar="COLUMN=LOW:HIGH",
        help="Fix a measure's clamp range within the policy's, e.g. helpful_votes=0:20 "
        "(COLUMN of the queried table, or TABLE.COLUMN); repeat for several measures "
        "[default: chosen per query with DP].",
    ),
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
    from gateway.errors import GatewayError  # here, so `gateway --help` loads no pydantic

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


def settings_for(insecure_no_sandbox: bool = False) -> Settings:
    """Settings from the environment, with the sandbox switched off only when asked by name."""
    from gateway.config import load_settings

    return load_settings(insecure_no_sandbox=insecure_no_sandbox)


def read_sql(sql: str | None, sql_file: Path | None) -> str:
    """SQL from ``--sql "..."``, ``--sql -`` (standard input) or ``--sql-file``.

    Unreadable input is a vetting refusal (``unreadable_query``), like any bad query.
    """
    from gateway.errors import VetError
    from gateway.vet.codes import Code

    if (sql is None) == (sql_file is None):
        raise typer.BadParameter("give exactly one of --sql or --sql-file")
    try:
        if sql_file is not None:
            return sql_file.read_text(encoding="utf-8")
        assert sql is not None
        return sys.stdin.read() if sql == "-" else sql
    except (OSError, UnicodeDecodeError) as exc:
        raise VetError(
            Code.UNREADABLE_QUERY,
            f"the query cannot be read: {exc}",
            hint="pass UTF-8 text with --sql, --sql-file or --sql -",
        ) from None


def fixed_bounds(
    rows_per_group: int | None, groups: int | None, clamp: list[str] | None
) -> FixedBounds | None:
    """The bounds fixed with ``--rows-per-group``, ``--groups`` and ``--clamp``; None if none."""
    from gateway.vet.bounds import FixedBounds, parse_clamps

    try:
        clamps = parse_clamps(clamp or [])
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--clamp") from None
    bounds = FixedBounds(rows_per_group=rows_per_group, groups=groups, clamps=clamps)
    return None if bounds.empty else bounds


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
@extract_app.command("build")
def extract_build(
    source: Annotated[Path, typer.Option("--source", help="The platform database.")],
    policy: PolicyOption,
    project: Annotated[
        str, typer.Option("--project", help="Project id; pseudonyms are keyed per project.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Encrypted extract to write.")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="Purpose of processing, as listed in the policy.")
    ] = "mission",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing extract.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Build a pseudonymised, consent-aware, encrypted extract and its manifest."""
    from gateway.extract.build import build_extract
    from gateway.policy import load_policy

    with refusals(as_json):
        manifest = build_extract(
            source,
            load_policy(policy),
            project,
            purpose,
            out,
            settings_for(),
            force=force,
            progress=not as_json,
        )

    def human() -> None:
        rows = ", ".join(f"{name} {n:,}" for name, n in manifest.row_counts.items())
        left_out = ", ".join(f"{why} {n:,}" for why, n in manifest.excluded.items() if n)
        typer.echo(f"wrote {out} ({manifest.purpose}, project {manifest.project})")
        typer.echo(f"  rows: {rows}")
        typer.echo(f"  left out: {left_out or 'nothing'}")
        typer.echo(f"  expires: {manifest.expires_at.isoformat()}")

    emit(manifest, as_json, human)


@extract_app.command("status")
def extract_status(
    extracts: Annotated[list[Path], typer.Argument(help="Extract files to check.")],
    source: Annotated[
        Path | None, typer.Option("--source", help="The platform database, to check it too.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fresh, stale or expired, for each extract; exit 1 if any is not fresh."""
    from gateway.extract.status import Freshness
    from gateway.extract.status import extract_status as status_of

    with refusals(as_json):
        statuses = status_of(extracts, settings_for(), source=source)

    def human() -> None:
        for status in statuses:
            colour = "green" if status.state is Freshness.FRESH else "red"
            typer.secho(f"{status.state.value:<8}{status.extract}", fg=colour)
            for reason in status.reasons:
                typer.echo(f"        - {reason}")

    emit([s.model_dump(mode="json") for s in statuses], as_json, human)
    if any(s.state is not Freshness.FRESH for s in statuses):
        raise typer.Exit(1)


@extract_app.command("dummy")
def extract_dummy(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the dummy extract.")],
    members: Annotated[
        int | None, typer.Option("--members", help="Synthetic members [default: 20000].")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same values.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Write a dummy extract: the policy's schema, synthetic values, no real member."""
    from gateway.extract.dummy import DEFAULT_MEMBERS, build_dummy
    from gateway.policy import load_policy

    with refusals(as_json):
        count = DEFAULT_MEMBERS if members is None else members
        manifest = build_dummy(load_policy(policy), out, members=count, seed=seed)

    def human() -> None:
        counts = ", ".join(f"{t} {n:,}" for t, n in manifest.row_counts.items())
        typer.echo(f"dummy extract {out}: {counts}")
        typer.echo("synthetic values only, unencrypted; results on it are labelled dummy")

    emit(manifest, as_json, human)


# ---------------------------------------------------------------- rights import
@rights_app.command("import")
def rights_import(
    file: Annotated[Path, typer.Option("--file", help="Rights changes, one JSON object per line.")],
    as_json: JsonOption = False,
) -> None:
    """Import the platform's rights changes; a change already imported is skipped."""
    from gateway.service.audit import SYSTEM
    from gateway.service.rights import import_rights

    with refusals(as_json):
        result = import_rights(settings_for(), SYSTEM, file)
    emit(
        result,
        as_json,
        lambda: typer.echo(
            f"imported {result.imported} change(s) from {file}; "
            f"{result.already_present} were already in the ledger"
        ),
    )


# ---------------------------------------------------------------- vet


@app.command("vet")
def vet_command(
    policy: PolicyOption,
    sql: Annotated[
        str | None, typer.Option("--sql", help='The query, or "-" to read it from standard input.')
    ] = None,
    sql_file: Annotated[
        Path | None,
        typer.Option("--sql-file", help="Read the query from this file.", dir_okay=False),
    ] = None,
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="ε to spend (default: the policy's per-query default)."),
    ] = None,
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
            from gateway.dp.engine import predict_accuracy
            from gateway.dp.release import MEAN_GROUP, per_aggregate

            predicted = predict_accuracy(report.plan, loaded, report.epsilon)
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
    sql: Annotated[
        str | None, typer.Option("--sql", help='The query, or "-" to read it from standard input.')
    ] = None,
    sql_file: Annotated[
        Path | None,
        typer.Option("--sql-file", help="Read the query from this file.", dir_okay=False),
    ] = None,
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
    from rich.console import Console

    from gateway.dp.render import render_release
    from gateway.pipeline import run_query
    from gateway.policy import load_policy

    with refusals(as_json):
        text = read_sql(sql, sql_file)
        loaded = load_policy(policy)
        bounds = fixed_bounds(rows_per_group, groups, clamp)
        release = run_query(
            text,
            extract,
            loaded,
            epsilon,
            settings_for(insecure_no_sandbox),
            contributions=bounds.contributions if bounds else None,
            clamps=bounds.clamps if bounds else None,
        )

    emit(
        release,
        as_json,
        lambda: Console().print(render_release(release, **counted(text, loaded))),
    )


# ---------------------------------------------------------------- analysis run
# (commands for this section go here)


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


# ---------------------------------------------------------------- serve / worker / demo
user_app = typer.Typer(
    help="People who may use the service, and their tokens.", no_args_is_help=True
)
app.add_typer(user_app, name="user")
RoleArgument = Annotated[str, typer.Option("--role", help="researcher, reviewer or admin.")]
DaysOption = Annotated[int | None, typer.Option("--days", help="Token lifetime.")]


WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=0,
        help="Job workers run inside the server; 0 when separate `gateway worker` "
        "processes run the jobs.",
    ),
]


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: WorkersOption = 1,
    as_json: JsonOption = False,
) -> None:
    """Serve the API and the web portals (researcher, reviewer, members, public register),
    and run submitted jobs with embedded workers unless --workers 0."""
    from gateway.service.app import create_app

    with refusals(as_json):
        application = create_app(settings_for(), workers=workers)
    _serve(application, host, port)


def _serve(application: Any, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; embedded workers finish the job in hand first."""
    import uvicorn

    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command("worker")
def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run every job that is ready, then stop.")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks for work.")] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Claim queued jobs from the metadata database and run them; several may run at once.

    SIGTERM or Ctrl-C lets the job in hand finish, then stops.
    """
    import logging
    import signal
    import threading

    from gateway.policy import load_policy
    from gateway.service.execute import PipelineExecutor
    from gateway.service.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with refusals(as_json):
        settings = settings_for()
        executor = PipelineExecutor(settings, load_policy(settings.policy_file))
        stop = threading.Event()
        before = {
            s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            summary = run_worker(
                settings, executor, once=once, poll_seconds=poll, should_stop=stop.is_set
            )
        finally:
            for signum, handler in before.items():
                signal.signal(signum, handler)

    def human() -> None:
        for ran in summary.ran:
            typer.echo(f"job {ran.job} (attempt {ran.attempt}): {ran.status or 'lost its lease'}")
        typer.echo(f"{summary.worker}: {len(summary.ran)} job(s) run")

    emit(summary, as_json, human)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name, lower case.")],
    role: RoleArgument,
    days: DaysOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user and print their first API token (shown this once only)."""
    from gateway.db import migrate
    from gateway.service.accounts import UserCreate, create_user, issue_token
    from gateway.service.audit import SYSTEM

    with refusals(as_json):
        settings = settings_for()
        migrate(settings)
        try:
            data = UserCreate.model_validate({"name": name, "role": role})
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        user = create_user(settings, SYSTEM, data)
        issued = issue_token(settings, SYSTEM, user.id, "command line", days)
    emit(issued, as_json, lambda: _show_token(issued))


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="Login name.")],
    days: DaysOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue another API token for a user (shown this once only)."""
    from gateway.db import migrate
    from gateway.service.accounts import issue_token, user_by_name
    from gateway.service.audit import SYSTEM

    with refusals(as_json):
        settings = settings_for()
        migrate(settings)
        issued = issue_token(
            settings, SYSTEM, user_by_name(settings, name).id, "command line", days
        )
    emit(issued, as_json, lambda: _show_token(issued))


def _show_token(issued: IssuedToken) -> None:
    typer.echo(f"token for {issued.user} (expires {issued.expires_at:%Y-%m-%d}; shown only now):")
    typer.echo(issued.token)


@app.command("demo")
def demo_command(
    members: Annotated[
        int, typer.Option("--members", help="Size of the synthetic platform.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic platform.")] = 7,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the portals when ready.")
    ] = True,
    workers: WorkersOption = 1,
    as_json: JsonOption = False,
) -> None:
    """Everything on an embedded default: a synthetic platform, an extract, a seeded service.

    Generates the platform in GATEWAY_DATA_DIR/demo, builds a project's
    encrypted extract (rebuilt when no longer fresh), seeds users, an approved
    project and a published insight, prints the tokens once, then serves the
    API and the portals and runs submitted jobs. Run it again to serve the
    same demo.
    """
    from gateway.errors import ConflictError
    from gateway.extract.build import build_extract
    from gateway.extract.manifest import load_manifest
    from gateway.extract.status import Freshness, extract_status
    from gateway.policy import load_policy
    from gateway.service.projects import extract_project_id
    from gateway.service.seed import demo_project_id, seed_demo
    from gateway.source.generate import generate

    progress = not as_json and sys.stderr.isatty()
    with refusals(as_json):
        settings = settings_for()
        policy = load_policy(settings.policy_file)
        folder = settings.data_dir / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        source, extract = folder / "platform.duckdb", folder / "extracts" / "demo.duckdb"
        extract.parent.mkdir(exist_ok=True)
        if not source.exists():
            generate(members, seed, source, progress=progress)

        def demo_extract(project: str) -> Path:
            """The project's extract, rebuilt unless it is fresh and was built for it."""
            if (
                not extract.exists()
                or load_manifest(extract).project != project
                or any(
                    s.state is not Freshness.FRESH
                    for s in extract_status([extract], settings, source=source)
                )
            ):
                build_extract(
                    source,
                    policy,
                    project,
                    "mission",
                    extract,
                    settings,
                    force=True,
                    progress=progress,
                )
            return extract

        try:
            seeded: dict[str, object] = seed_demo(settings, policy, demo_extract).model_dump(
                mode="json"
            )
        except ConflictError:
            seeded = {"tokens": {}, "note": "already seeded; `gateway user token NAME` issues more"}
            project_id = demo_project_id(settings)
            if project_id is not None:
                demo_extract(extract_project_id(project_id))
    url = f"http://{host}:{port}"
    payload = {"source": str(source), "extract": str(extract), "url": url, **seeded}

    def human() -> None:
        typer.echo(f"platform  {source}\nextract   {extract}")
        tokens = seeded.get("tokens") or {}
        assert isinstance(tokens, dict)
        for role, token in tokens.items():
            typer.echo(f"{role:<10} token (shown only now): {token}")
        if not tokens:
            typer.echo(str(seeded.get("note")))
        typer.echo(f"members' insights: {url}/  researchers and reviewers: {url}/login")

    emit(payload, as_json, human)
    if serve:
        from gateway.service.app import create_app

        _serve(create_app(settings, policy, workers=workers), host, port)


# ---------------------------------------------------------------- backup and restore

SEALING_HELP = (
    "The keys in the file are encrypted (AES-256-GCM) under a key derived (scrypt) from the "
    "passphrase in the environment variable GATEWAY_BACKUP_PASSPHRASE (12 characters or "
    "more); it is never taken on the command line. Keep it apart from the backups."
)


@app.command(
    "backup",
    help="Back up the metadata database (projects, budgets, jobs, release "
    "store, audit log) and the key directory into one file, consistently even while the "
    "service runs. " + SEALING_HELP,
)
def backup_command(
    out: Annotated[
        Path, typer.Option("--out", help="The backup file to write; it must not exist yet.")
    ],
    as_json: JsonOption = False,
) -> None:
    from gateway.service.backup import backup

    with refusals(as_json):
        summary = backup(settings_for(), out)

    def human() -> None:
        rows = sum(summary.rows.values())
        typer.echo(
            f"wrote {summary.path} ({summary.bytes:,} bytes): {rows:,} rows of "
            f"{len(summary.rows)} tables at schema {summary.revision}, "
            f"{summary.key_files} key file(s) sealed"
        )

    emit(summary, as_json, human)


@app.command(
    "restore",
    help="Restore a backup into an empty data directory, key directory "
    "and metadata database (GATEWAY_DATA_DIR, GATEWAY_KEY_DIR, GATEWAY_DATABASE_URL); anything "
    "non-empty is refused. The audit chain is verified afterwards. " + SEALING_HELP,
)
def restore_command(
    archive: Annotated[Path, typer.Argument(help="A file `gateway backup` wrote.")],
    as_json: JsonOption = False,
) -> None:
    from gateway.service.backup import restore

    with refusals(as_json):
        summary = restore(settings_for(), archive)

    def human() -> None:
        rows = sum(summary.rows.values())
        chain = "intact" if summary.audit.intact else "BROKEN"
        typer.echo(
            f"restored {rows:,} rows and {summary.key_files} key file(s) from {summary.path}; "
            f"audit chain {chain} ({summary.audit.records} records)"
        )

    emit(summary, as_json, human)
    if not summary.audit.intact:
        raise typer.Exit(1)


# ---------------------------------------------------------------- audit verify


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Walk the audit log's hash chain; exit 1 and name the first broken record if any."""
    from gateway.db import migrate
    from gateway.service.audit import verify

    with refusals(as_json):
        settings = settings_for()
        migrate(settings)
        verdict = verify(settings)

    def human() -> None:
        if verdict.first_broken is None:
            typer.echo(f"intact: {verdict.records} record(s), chain and head agree")
        else:
            typer.secho(
                f"broken at record {verdict.first_broken.seq}: {verdict.first_broken.reason}",
                err=True,
                fg="red",
            )

    emit(verdict, as_json, human)
    if not verdict.intact:
        raise typer.Exit(1)


# ---------------------------------------------------------------- remote

remote_app = typer.Typer(
    help="The researcher's verbs against a running gateway, with GATEWAY_URL and GATEWAY_TOKEN.",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")
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
RemoteSqlOption = Annotated[
    str | None, typer.Option("--sql", help='The query, or "-" to read it from standard input.')
]
RemoteSqlFileOption = Annotated[
    Path | None,
    typer.Option("--sql-file", help="Read the query from this file.", dir_okay=False),
]
RemoteEpsilonOption = Annotated[
    float | None,
    typer.Option("--epsilon", help="ε to spend (default: the policy's per-query default)."),
]


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


@remote_app.command("vet")
def remote_vet(
    project: ProjectOption,
    sql: RemoteSqlOption = None,
    sql_file: RemoteSqlFileOption = None,
    epsilon: RemoteEpsilonOption = None,
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


@remote_app.command("run")
def remote_run(
    project: ProjectOption,
    sql: RemoteSqlOption = None,
    sql_file: RemoteSqlFileOption = None,
    epsilon: RemoteEpsilonOption = None,
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


@remote_app.command("jobs")
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


@remote_app.command("release")
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


@remote_app.command("budget")
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


if __name__ == "__main__":  # pragma: no cover
    app()
