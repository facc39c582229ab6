"""Security headers on every response, and no resource from another site on any page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from gateway.config import Environment, Settings
from gateway.policy import Policy
from gateway.service.app import create_app
from tests.service.factories import Api, signed_in

STRICT = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _assert_strict(response: Response, *, docs: bool = False) -> None:
    headers = response.headers
    for name, value in STRICT.items():
        assert headers[name] == value, name
    csp = {
        part.split()[0]: part.split()[1:] for part in headers["content-security-policy"].split("; ")
    }
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'none'"]
    assert csp["style-src"] == (["'self'", "'unsafe-inline'"] if docs else ["'self'"])
    assert "camera=()" in headers["permissions-policy"]
    assert "strict-transport-security" not in headers


def test_every_kind_of_response_carries_the_headers(api: Api) -> None:
    browser = signed_in(api, "ann")
    answers = {
        "page": browser.get("/workspace"),
        "public page": api.client.get("/insights"),
        "json twin": browser.get("/workspace.json"),
        "api": api.client.get("/api/me", headers=api.as_("ann")),
        "refusal": api.client.get("/api/me"),
        "unknown path": api.client.get("/nowhere"),
        "static file": api.client.get("/static/gateway.css"),
        "swagger file": api.client.get("/static/api-docs/swagger-ui-bundle.js"),
        "schema": api.client.get("/openapi.json"),
    }
    for kind, response in answers.items():
        assert response.status_code in {200, 401, 404}, kind
        _assert_strict(response)
    assert answers["page"].headers["cache-control"] == "no-store"
    assert answers["api"].headers["cache-control"] == "no-store"
    assert "no-store" not in answers["static file"].headers.get("cache-control", "")
    _assert_strict(api.client.get("/docs"), docs=True)


def test_a_server_error_carries_them_too(api: Api) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    app = api.client.app
    app.add_api_route("/api/broken", broken)  # type: ignore[attr-defined]
    response = TestClient(app, raise_server_exceptions=False).get("/api/broken")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    _assert_strict(response)


def test_production_adds_hsts(tmp_path: Path, policy: Policy) -> None:
    settings = Settings(data_dir=tmp_path, environment=Environment.PRODUCTION)
    response = TestClient(create_app(settings, policy)).get("/-/health")
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")


TEMPLATES = Path(__file__).parents[2] / "gateway" / "web" / "templates"
_RESOURCE = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_loads_anything_from_another_site_or_inline(template: str) -> None:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for target in _RESOURCE.findall(text):
        assert not re.match(r"^(https?:)?//", target), f"{template}: {target}"
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{template}: inline script"
    assert not re.search(r"\son[a-z]+\s*=", text), f"{template}: inline event handler"
    assert " style=" not in text, f"{template}: inline style"


def test_the_api_reference_is_served_from_bundled_files(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    loaded = _RESOURCE.findall(page.text)
    assert "/static/api-docs/swagger-ui-bundle.js" in loaded
    assert "/static/api-docs.js" in loaded
    for target in loaded:
        assert target.startswith("/"), target
        assert api.client.get(target).status_code == 200, target
    assert "cdn" not in page.text.lower()
