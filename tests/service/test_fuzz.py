"""The API under generated input, valid and invalid, for every role and on both databases:
no server error, every refusal an RFC 9457 problem, every status and body as documented."""

from __future__ import annotations

import itertools
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.factories import Api, approved_over_http

EXAMPLES = 6
"""Per operation, role and mode: about 2,500 requests in all."""
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "hint", "issues", "instance"}


def problem_document(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A refusal is ``application/problem+json`` with the RFC 9457 members and our code."""
    if response.status_code < 400:
        return None
    assert response.headers["content-type"][0] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_FIELDS, f"missing {PROBLEM_FIELDS - set(body)}"
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:gateway:problem:{body['code']}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_document,
]


ROLES = [
    *(pytest.param("sqlite", role, id=f"sqlite-{role}") for role in (None, "ann", "rita", "adam")),
    pytest.param("postgres", "adam", id="postgres-adam", marks=pytest.mark.postgres),
]
"""Every role on SQLite; on PostgreSQL the administrator, whose requests write the most."""


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "role"), ROLES, indirect=["backend"])
def test_generated_requests_get_documented_answers(api_on: Api, role: str | None) -> None:
    approved_over_http(api_on)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_on.client.app)
    headers = api_on.as_(role) if role else {}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation, mode in itertools.product(operations, GenerationMode):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode))
        def exercise(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, (
                "only an operation without input has no invalid input"
            )
        except Exception as failure:
            failures.append(
                f"{operation.method.upper()} {operation.path} ({mode.value}): {failure}"[:600]
            )
    assert failures == []
