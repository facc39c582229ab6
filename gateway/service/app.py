"""``create_app``: the API, the portals' pages and their static files, in one ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from gateway.config import Settings
from gateway.db import migrate
from gateway.policy import load_policy
from gateway.policy.model import Policy
from gateway.service import problems
from gateway.service.execute import PipelineExecutor, require_isolation
from gateway.service.headers import SecurityHeaders
from gateway.service.routes import ROUTERS
from gateway.service.routes.apidocs import SWAGGER_DIR, SWAGGER_URL
from gateway.service.throttle import Throttle
from gateway.service.worker import embedded_workers
from gateway.web import STATIC_DIR


class Gateway(FastAPI):
    """FastAPI with security headers outside everything (server errors included), and
    every operation's refusals documented as RFC 9457 problems."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), self.state.settings)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = problems.document_problems(super().openapi())
        return self.openapi_schema


def create_app(
    settings: Settings | None = None, policy: Policy | None = None, *, workers: int = 0
) -> FastAPI:
    """The service over ``settings`` (default: from the environment) and ``policy``
    (default: ``settings.policy_file``); the metadata database is migrated first.

    With ``workers`` > 0 the app runs that many job workers on its own threads
    while it serves (started and stopped with its lifespan).
    """
    settings = settings or Settings()
    require_isolation(settings)
    policy = policy or load_policy(settings.policy_file)
    migrate(settings)
    app = Gateway(
        lifespan=_running_jobs(settings, policy, workers),
        title="Health-Thing research gateway",
        summary="Differentially private insights from member data, never the data itself.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.policy = policy
    app.state.throttle = Throttle(settings)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIR), name="api-docs")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(problems.BodyLimit, limit=settings.max_request_bytes)

    return app


def _running_jobs(
    settings: Settings, policy: Policy, workers: int
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: ``workers`` embedded job workers while it serves."""
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, not {workers}")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with embedded_workers(settings, lambda: PipelineExecutor(settings, policy), workers):
            yield

    return lifespan
