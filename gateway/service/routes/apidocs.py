"""The API reference (``/docs``): Swagger UI from files bundled with the gateway, no CDN.

Swagger UI's files come from the ``fastapi-offline`` package (Swagger UI is
Apache-2.0 licensed; its licence notice is in the bundle) and are served
under ``/static/api-docs/``; the page starts it with the gateway's own
``api-docs.js``, not inline script.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.web.render import templates

SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_URL = "/static/api-docs"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {"openapi_url": request.app.openapi_url, "swagger_url": SWAGGER_URL},
    )
