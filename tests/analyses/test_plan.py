"""An analysis plan is plain data: it round-trips through JSON exactly and refuses anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.analyses import MAX_QUERIES, AnalysisPlan, PlannedQuery
from gateway.plan import QueryPlan
from tests.analyses.factories import EXAMPLES, example_plan, query_plans, sleep_trends

analysis_plans = st.lists(
    st.one_of(query_plans, st.text(min_size=1, max_size=200)), min_size=1, max_size=5
).map(
    lambda queries: AnalysisPlan(
        name="generated",
        queries=tuple(
            PlannedQuery(
                name=f"q{i}",
                share=1 / len(queries),
                **({"plan": q} if isinstance(q, QueryPlan) else {"sql": q}),
            )
            for i, q in enumerate(queries)
        ),
    )
)


@given(analysis_plans)
def test_any_plan_round_trips_through_json_exactly(plan: AnalysisPlan) -> None:
    text = plan.model_dump_json()
    again = AnalysisPlan.model_validate_json(text)
    assert again == plan
    assert again.model_dump_json() == text
    assert again.plan_hash() == plan.plan_hash()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_plans_round_trip_and_hash_stably(path: object) -> None:
    plan = example_plan(path)  # type: ignore[arg-type]
    again = AnalysisPlan.model_validate(json.loads(plan.model_dump_json()))
    assert again == plan
    assert again.plan_hash() == example_plan(path).plan_hash()  # type: ignore[arg-type]


def test_hash_changes_with_any_part_of_the_plan() -> None:
    plan = sleep_trends().plan()
    renamed = plan.model_copy(update={"name": "sleep trends 2"})
    reshared = AnalysisPlan.model_validate(
        {
            **plan.model_dump(),
            "queries": [{**plan.queries[0].model_dump(), "share": 0.4}, plan.queries[1]],
        }
    )
    assert len({plan.plan_hash(), renamed.plan_hash(), reshared.plan_hash()}) == 3


def _raw() -> dict[str, object]:
    return json.loads(sleep_trends().plan().model_dump_json())


def _with_query(**changes: object) -> dict[str, object]:
    raw = _raw()
    raw["queries"][0].update(changes)  # type: ignore[index]
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with_query(share=0.9), "more than 1"),
        (_with_query(name="by_theme"), "unique"),
        (_with_query(sql="SELECT 1"), "exactly one"),
        (_with_query(plan=None), "exactly one"),
        (_with_query(name="../../etc"), "pattern"),
        (_with_query(share=float("inf")), "finite"),
        (_with_query(share=-0.1), "greater than 0"),
        (_with_query(udf="lambda row: row"), "Extra inputs"),
        ({**_raw(), "pickle": "gASVAAAAAA=="}, "Extra inputs"),
        ({**_raw(), "queries": []}, "at least 1"),
        (
            {
                **_raw(),
                "queries": [
                    {"name": f"q{i}", "share": 0.01, "sql": "x"} for i in range(MAX_QUERIES + 1)
                ],
            },
            "at most",
        ),
    ],
)
def test_plan_refuses_what_is_not_a_plan(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnalysisPlan.model_validate_json(json.dumps(raw))


def test_plan_is_frozen() -> None:
    plan = sleep_trends().plan()
    with pytest.raises(ValidationError):
        plan.name = "other"  # type: ignore[misc]
