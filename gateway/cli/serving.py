"""``gateway serve`` and ``gateway worker``: the service and the processes that run its jobs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.options import settings_for
from gateway.cli.output import JsonOption, emit, refusals

app = typer.Typer()

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
    run_server(application, host, port)


def run_server(application: Any, host: str, port: int) -> None:
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
