"""The accepted and rejected corpora pin what the vetter says about each query."""

from __future__ import annotations

import pytest

from gateway.errors import VetError
from gateway.plan import QueryPlan
from gateway.policy import Policy
from gateway.vet import vet
from tests.vet.factories import Case, load_corpus

ACCEPTED = load_corpus("accepted.sql")
REJECTED = load_corpus("rejected.sql")
UNLOCATED = {"query_too_long", "empty_query"}
"""Codes about the text as a whole; every other issue points at a fragment."""


def _id(case: Case) -> str:
    return f"L{case.line}-{case.title}"


def test_corpora_are_large_and_well_formed() -> None:
    assert len(ACCEPTED) + len(REJECTED) >= 150
    assert all(c.accept and not c.codes for c in ACCEPTED)
    assert all(not c.accept and c.codes for c in REJECTED)


@pytest.mark.parametrize("case", ACCEPTED, ids=_id)
def test_accepted(case: Case, policy: Policy) -> None:
    plan = vet(case.sql, policy)
    assert QueryPlan.model_validate_json(plan.model_dump_json()) == plan
    assert plan.aggregates, "an accepted query releases at least one aggregate"


@pytest.mark.parametrize("case", REJECTED, ids=_id)
def test_rejected(case: Case, policy: Policy) -> None:
    with pytest.raises(VetError) as raised:
        vet(case.sql, policy)
    error = raised.value
    codes = {issue.code for issue in error.issues}
    assert set(case.codes) <= codes, f"expected {case.codes}, got {sorted(codes)}"
    assert error.code == "query_rejected"
    for issue in error.issues:
        assert issue.message, issue
        assert issue.hint, issue
        if issue.code in case.codes and issue.code not in UNLOCATED:
            assert issue.start is not None, issue
            assert issue.end is not None
            assert issue.line is not None
            assert issue.column is not None
            assert case.sql[issue.start : issue.end] == issue.highlight
