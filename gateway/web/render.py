"""``render``: one page (HTML) or its JSON twin, from the same pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from gateway.web.bounds import accuracy_lines, release_notes
from gateway.web.charts import monthly_chart, release_charts
from gateway.web.i18n import DEFAULT, LANGS, Lang, translate
from gateway.web.numbers import number, scientific
from gateway.web.vocabulary import term

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
LANG_COOKIE = "lang"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["release_charts"] = release_charts
templates.env.globals["monthly_chart"] = monthly_chart
templates.env.globals["release_notes"] = release_notes
templates.env.globals["accuracy_lines"] = accuracy_lines
templates.env.filters["number"] = number
templates.env.filters["scientific"] = scientific
templates.env.filters["term"] = term


def language(request: Request) -> Lang:
    """``?lang=`` first, then the remembered choice, else Dutch."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        for lang in LANGS:
            if candidate == lang:
                return lang
    return DEFAULT


def render(
    request: Request,
    template: str,
    data: BaseModel,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """The page, or ``data`` as JSON when the path ends in ``.json``."""
    if request.url.path.endswith(".json"):
        return JSONResponse(data.model_dump(mode="json"), status_code=status)
    return _html(request, template, {"data": data, **context}, status)


def json_twin(path: str) -> str:
    """Where a page's JSON twin lives: its path plus ``.json`` (``/index.json`` for ``/``)."""
    return "/index.json" if path == "/" else path.rstrip("/") + ".json"


def render_problem(request: Request, problem: dict[str, Any]) -> Response:
    """A refusal as a page: ``<status>.html`` if there is one, else ``error.html``."""
    status = int(problem["status"])
    name = f"{status}.html"
    template = name if (HERE / "templates" / name).exists() else "error.html"
    return _html(request, template, {"problem": problem}, status)


def _html(request: Request, template: str, context: dict[str, Any], status: int) -> HTMLResponse:
    lang = language(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "t": lambda key: translate(key, lang),
            "user": getattr(request.state, "user", None),
            "json_path": json_twin(request.url.path) if request.method == "GET" else None,
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response
