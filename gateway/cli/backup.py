"""``gateway backup``, ``restore`` and ``audit verify``: keeping the service's records safe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.options import migrated_settings, settings_for
from gateway.cli.output import JsonOption, emit, refusals

app = typer.Typer()
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

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


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Walk the audit log's hash chain; exit 1 and name the first broken record if any."""
    from gateway.service.audit import verify

    with refusals(as_json):
        verdict = verify(migrated_settings())

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
