"""``gateway user``: people who may use the service, and their API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.options import migrated_settings
from gateway.cli.output import JsonOption, emit, refusals

if TYPE_CHECKING:
    from gateway.config import Settings

app = typer.Typer(help="People who may use the service, and their tokens.", no_args_is_help=True)
RoleArgument = Annotated[str, typer.Option("--role", help="researcher, reviewer or admin.")]
DaysOption = Annotated[int | None, typer.Option("--days", help="Token lifetime.")]


@app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name, lower case.")],
    role: RoleArgument,
    days: DaysOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user and print their first API token (shown this once only)."""
    from gateway.service.accounts import UserCreate, create_user
    from gateway.service.audit import SYSTEM

    def created(settings: Settings) -> int:
        try:
            data = UserCreate.model_validate({"name": name, "role": role})
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        return create_user(settings, SYSTEM, data).id

    _issue_token(created, days, as_json)


@app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="Login name.")],
    days: DaysOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue another API token for a user (shown this once only)."""
    from gateway.service.accounts import user_by_name

    _issue_token(lambda settings: user_by_name(settings, name).id, days, as_json)


def _issue_token(user: Callable[[Settings], int], days: int | None, as_json: bool) -> None:
    """Issue a command-line token to the user ``user`` finds (or makes), and show it once."""
    from gateway.service.accounts import issue_token
    from gateway.service.audit import SYSTEM

    with refusals(as_json):
        settings = migrated_settings()
        issued = issue_token(settings, SYSTEM, user(settings), "command line", days)

    def human() -> None:
        expires = f"{issued.expires_at:%Y-%m-%d}"
        typer.echo(f"token for {issued.user} (expires {expires}; shown only now):")
        typer.echo(issued.token)

    emit(issued, as_json, human)
