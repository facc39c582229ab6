"""One module per resource, each with its own ``APIRouter``; ``ROUTERS`` is the order they mount."""

from fastapi import APIRouter

from gateway.service.routes import (
    admin,
    apidocs,
    audit,
    console,
    downloads,
    meta,
    portal,
    projects,
    public,
    queries,
    releases,
    reviews,
    schema,
    signin,
    users,
    workspace,
)

ROUTERS: tuple[APIRouter, ...] = (
    meta.router,
    apidocs.router,
    users.router,
    projects.router,
    queries.router,
    downloads.router,
    schema.router,
    reviews.router,
    releases.router,
    audit.router,
    public.router,
    portal.router,
    signin.router,
    workspace.router,
    console.router,
    admin.router,
)
