"""Options and inputs several commands take: the policy, the query, its bounds, the settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.vet.bounds import FixedBounds

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
SqlOption = Annotated[
    str | None, typer.Option("--sql", help='The query, or "-" to read it from standard input.')
]
SqlFileOption = Annotated[
    Path | None,
    typer.Option("--sql-file", help="Read the query from this file.", dir_okay=False),
]
EpsilonOption = Annotated[
    float | None,
    typer.Option("--epsilon", help="ε to spend (default: the policy's per-query default)."),
]


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
    if rows_per_group is None and groups is None and not clamp:
        return None
    from gateway.vet.bounds import FixedBounds, parse_clamps

    try:
        clamps = parse_clamps(clamp or [])
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--clamp") from None
    bounds = FixedBounds(rows_per_group=rows_per_group, groups=groups, clamps=clamps)
    return None if bounds.empty else bounds


def migrated_settings() -> Settings:
    """Settings from the environment, with the metadata database brought up to date."""
    from gateway.db import migrate

    settings = settings_for()
    migrate(settings)
    return settings
