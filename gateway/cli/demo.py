"""``gateway demo``: everything on an embedded default, set up once and served.

``set_up`` makes the demo in the data directory (a synthetic platform, a
project's encrypted extract, a seeded service) and is safe to run again: it
keeps what is there and rebuilds the extract only when it is no longer fresh.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.options import settings_for
from gateway.cli.output import JsonOption, emit, refusals
from gateway.cli.serving import WorkersOption, run_server

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.policy.model import Policy

app = typer.Typer()


@dataclass(frozen=True)
class Demo:
    """Where the demo's platform and extract are, and what seeding it said (tokens once)."""

    source: Path
    extract: Path
    seeded: dict[str, object]


def set_up(settings: Settings, policy: Policy, members: int, seed: int, progress: bool) -> Demo:
    """Generate the platform in ``data_dir/demo`` unless it exists, build the demo project's
    extract unless it is fresh and was built for it, and seed the service unless it was."""
    from gateway.errors import ConflictError
    from gateway.extract.build import build_extract
    from gateway.extract.manifest import load_manifest
    from gateway.extract.status import Freshness, extract_status
    from gateway.service.projects import extract_project_id
    from gateway.service.seed import demo_project_id, seed_demo
    from gateway.source.generate import generate

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
                source, policy, project, "mission", extract, settings, force=True, progress=progress
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
    return Demo(source, extract, seeded)


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
    from gateway.policy import load_policy

    with refusals(as_json):
        settings = settings_for()
        policy = load_policy(settings.policy_file)
        demo = set_up(settings, policy, members, seed, progress=not as_json and sys.stderr.isatty())
    url = f"http://{host}:{port}"
    seeded = demo.seeded
    payload = {"source": str(demo.source), "extract": str(demo.extract), "url": url, **seeded}

    def human() -> None:
        typer.echo(f"platform  {demo.source}\nextract   {demo.extract}")
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

        run_server(create_app(settings, policy, workers=workers), host, port)
