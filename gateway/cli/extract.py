"""``gateway extract``: build extracts, check their freshness, write dummy ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.options import PolicyOption, settings_for
from gateway.cli.output import JsonOption, emit, refusals

app = typer.Typer(help="Pseudonymised, consent-aware, encrypted extracts.", no_args_is_help=True)


@app.command("build")
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


@app.command("status")
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


@app.command("dummy")
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
