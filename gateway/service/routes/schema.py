"""The schema researchers query: ``GET /api/schema`` and the ``/schema`` page (JSON twin too)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.service.deps import PolicyDep, Viewer
from gateway.service.schema import SchemaPublic, describe
from gateway.web import render

router = APIRouter()


@router.get("/api/schema", tags=["schema"])
def schema(policy: PolicyDep) -> SchemaPublic:
    """Tables, columns, roles, types, category domains, clamp and date ranges, from the policy."""
    return describe(policy)


@router.get("/schema", include_in_schema=False)
@router.get("/schema.json", include_in_schema=False)
def schema_page(request: Request, policy: PolicyDep, viewer: Viewer) -> Response:
    return render(request, "schema.html", describe(policy))
