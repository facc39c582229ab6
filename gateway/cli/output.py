"""What every command shares in its output: ``--json``, or words for people; refusals as exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


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
