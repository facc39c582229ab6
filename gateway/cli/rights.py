"""``gateway rights``: members' rights changes from the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.options import settings_for
from gateway.cli.output import JsonOption, emit, refusals

app = typer.Typer(help="Members' rights changes from the platform.", no_args_is_help=True)


@app.command("import")
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
