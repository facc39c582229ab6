"""Refusals as RFC 9457 problem documents, and the request-size limit.

Domain code raises ``GatewayError``; one handler (registered on the base
class, found along the MRO) turns it into ``application/problem+json`` with
``type`` from the error's code, ``title``, ``status``, ``detail``, ``hint``
and the list of ``issues``. Pages get the same problem as HTML
(``<status>.html``, else ``error.html``); a page that needs a signed-in user
sends the browser to the login page instead.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import GatewayError, Issue, ServiceError, field_message
from gateway.web import render_problem

PROBLEM_TYPE = "urn:gateway:problem:"
CREDENTIAL_PAGES = ("/login", "/invite")
"""Pages that take a credential: a refused one is shown there, not sent back to sign in."""

log = logging.getLogger(__name__)


def is_page(request: Request) -> bool:
    """Pages are everything a browser reads that is not the API, a JSON twin or ``/-/``."""
    path = request.url.path
    return not (path.startswith(("/api/", "/-/", "/static/")) or path.endswith(".json"))


class Problem(BaseModel):
    """An RFC 9457 problem document: every refusal of the API has this shape."""

    type: str = Field(description="urn:gateway:problem:<code>")
    title: str
    status: int
    detail: str
    instance: str | None
    code: str = Field(description="stable; listed in docs/operations.md")
    hint: str | None
    issues: list[Issue]


PROBLEM_REF = "#/components/schemas/Problem"
REFUSALS = (400, 401, 403, 404, 409, 413, 422, 429, 500)
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": HTTPStatus(status).phrase,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for status in REFUSALS
}
"""What every operation may answer besides its success, documented once for the whole API."""


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add ``Problem`` (and what it refers to) to the schema's components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["Problem"] = schema
    return openapi


def problem(error: GatewayError, instance: str) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.message,
        "instance": getattr(error, "instance", None) or instance,
        "code": error.code,
        "hint": error.hint,
        "issues": [issue.model_dump() for issue in error.issues],
    }


def handle_gateway_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, GatewayError)
    body = problem(error, request.url.path)
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if is_page(request):
        if error.status == 401 and request.url.path not in CREDENTIAL_PAGES:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        page = render_problem(request, body)
        page.headers.update(headers)
        return page
    if error.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
    return JSONResponse(
        body, status_code=error.status, media_type="application/problem+json", headers=headers
    )


def handle_validation(request: Request, error: Exception) -> Response:
    """Malformed input (FastAPI's check of a request, or a model built from it) as a problem."""
    assert isinstance(error, RequestValidationError | ValidationError)
    issues = [Issue(code=str(e["type"]), message=field_message(e)) for e in error.errors()]
    refusal = ServiceError(
        "invalid_request",
        issues[0].message if issues else "the request is not valid",
        hint="see `issues` for every field to fix",
        issues=issues,
    )
    refusal.status = 422
    return handle_gateway_error(request, refusal)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
_HTTP_HINTS = {
    404: "see /docs for the API",
    413: "send a shorter query or analysis; an analysis builds a plan and holds no data",
}


def handle_http(request: Request, error: Exception) -> Response:
    """Unknown paths, wrong methods and oversized bodies, as problems too."""
    assert isinstance(error, HTTPException)
    status = error.status_code
    refusal = ServiceError(
        _HTTP_CODES.get(status, f"http_{status}"), str(error.detail), hint=_HTTP_HINTS.get(status)
    )
    refusal.status, refusal.title = status, HTTPStatus(status).phrase
    return handle_gateway_error(request, refusal)


def handle_unexpected(request: Request, error: Exception) -> Response:
    """A bug: logged in full for operators, answered with nothing of its message."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    refusal = ServiceError(
        "internal_error",
        "the gateway failed to answer this request",
        hint="try again later; an operator can find the error in the service's log",
    )
    refusal.status, refusal.title = 500, "Internal error"
    return handle_gateway_error(request, refusal)


def install(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, handle_gateway_error)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(ValidationError, handle_validation)
    app.add_exception_handler(HTTPException, handle_http)
    app.add_exception_handler(Exception, handle_unexpected)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, self.message)
            return message

        await self.app(scope, counted, send)

    @property
    def message(self) -> str:
        return f"the request body is larger than the limit of {self.limit:,} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = handle_http(Request(scope, receive), HTTPException(413, self.message))
        await response(scope, receive, send)
