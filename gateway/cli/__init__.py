"""``gateway``: the command line of the research gateway (DESIGN.md section 5).

One module per command group; this one only assembles them, in the order
``gateway --help`` lists them. Heavy libraries (OpenDP, Polars, FastAPI) are
imported inside commands, so ``gateway --help`` and ``gateway vet`` start
fast. Every command takes ``--json``; every refusal is one clear line (or a
JSON object) and exit 1.
"""

from __future__ import annotations

import atexit
import gc

import typer

from gateway.cli import (
    backup,
    demo,
    extract,
    query,
    remote,
    rights,
    serving,
    source,
    users,
)

app = typer.Typer(
    help="Health-Thing research gateway: differentially private insights, never the data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for commands in (query.app, serving.app, demo.app, backup.app):
    app.add_typer(commands)  # unnamed: their commands sit at the top level
app.add_typer(source.app, name="source")
app.add_typer(extract.app, name="extract")
app.add_typer(rights.app, name="rights")
app.add_typer(query.analysis_app, name="analysis")
app.add_typer(backup.audit_app, name="audit")
app.add_typer(users.app, name="user")
app.add_typer(remote.app, name="remote")


def main() -> None:
    """The ``gateway`` command: ``app``, with Python's search for garbage kept to what is new.

    A command's process starts by loading hundreds of modules and ends soon
    after it answers. Python's collector would search all their objects for
    reference cycles, again and again while a command imports what it needs,
    and once more at exit, only for the process to free them: about a third of
    a repeated ``gateway run``'s CPU time. What the command line has loaded
    before a command starts lives as long as the process, so it is frozen out
    of those searches; whatever is left when the process exits is frozen too.
    Exit handlers still run, and what a command writes it has closed or
    committed.
    """
    gc.freeze()
    atexit.register(gc.freeze)
    app()
