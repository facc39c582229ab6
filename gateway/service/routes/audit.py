"""The audit trail, for reviewers and administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.db import session
from gateway.service import audit
from gateway.service.audit import AuditEntry, Verdict
from gateway.service.deps import CurrentOverseer, SettingsDep
from gateway.service.inputs import Seq

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEntries(BaseModel):
    data: list[AuditEntry]
    count: int


@router.get("")
def trail(
    who: CurrentOverseer,
    settings: SettingsDep,
    after: Seq = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditEntries:
    """Records after ``after``, oldest first."""
    with session(settings) as s:
        data = audit.entries(s, after=after, limit=limit)
    return AuditEntries(data=data, count=len(data))


@router.get("/verify")
def verify(who: CurrentOverseer, settings: SettingsDep) -> Verdict:
    """Walk the hash chain; ``first_broken`` names the first record that does not fit."""
    return audit.verify(settings)
