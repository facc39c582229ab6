"""One module per resource, each with its own ``APIRouter``; ``ROUTERS`` is the order they mount."""

from fastapi import APIRouter

from gateway.service.routes import (
    audit,
    meta,
    projects,
    public,
    queries,
    releases,
    reviews,
    users,
)

ROUTERS: tuple[APIRouter, ...] = (
    meta.router,
    users.router,
    projects.router,
    queries.router,
    reviews.router,
    releases.router,
    audit.router,
    public.router,
)
