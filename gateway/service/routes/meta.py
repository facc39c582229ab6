"""Introspection under the reserved ``/-/`` prefix: is the service up, and which one is it."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from gateway.db import session
from gateway.service.deps import PolicyDep, SettingsDep

router = APIRouter(prefix="/-", tags=["introspection"])


class Health(BaseModel):
    status: str
    database: str


class Version(BaseModel):
    gateway: str
    policy: str
    policy_version: int
    environment: str


@router.get("/health")
def health(settings: SettingsDep) -> Health:
    """Up, and the metadata database answers."""
    with session(settings) as s:
        s.execute(text("SELECT 1"))
    return Health(status="ok", database=settings.metadata_url.split(":", 1)[0])


@router.get("/version")
def version_info(settings: SettingsDep, policy: PolicyDep) -> Version:
    return Version(
        gateway=version("gateway"),
        policy=policy.name,
        policy_version=policy.version,
        environment=settings.environment.value,
    )
