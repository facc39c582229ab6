"""The plan checker and the SQL vetter agree: the same question gets the same verdict.

Every plan the vetter compiles from the accepted corpus passes the checker
unchanged. A plan mutated to make one mistake (an identifier grouped on, an
unknown column, an aggregate the policy does not allow, a constant out of
its column's range, ...) is refused by the checker with exactly the codes
the vetter gives for the same plan written as SQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.analyses.render import to_sql
from gateway.errors import VetError
from gateway.plan import (
    Aggregate,
    And,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    Not,
    OrderBy,
    Predicate,
    QueryPlan,
)
from gateway.policy import ColumnRole, Policy
from gateway.policy.model import Aggregation
from gateway.vet import vet
from gateway.vet.plans import check_plan
from gateway.vet.shapes import grain
from tests.vet.factories import health_thing, load_corpus

POLICY = health_thing()
ACCEPTED = [vet(case.sql, POLICY) for case in load_corpus("accepted.sql")]


def codes(check: Callable[[], object]) -> set[str]:
    """The codes of the issues ``check`` raises (empty if it accepts)."""
    try:
        check()
    except VetError as err:
        return {issue.code for issue in err.issues}
    return set()


@pytest.mark.parametrize("plan", ACCEPTED)
def test_what_the_vetter_compiles_the_checker_accepts_unchanged(plan: QueryPlan) -> None:
    assert check_plan(plan, POLICY) == plan
    assert vet(to_sql(plan), POLICY) == plan  # the rendering asks the same question


def _columns(plan: QueryPlan, *roles: ColumnRole) -> list[ColumnRef]:
    tables = [plan.table] + ([POLICY.unit_table] if plan.join_members else [])
    return [
        ColumnRef(table=t, column=name)
        for t in dict.fromkeys(tables)
        for name, spec in POLICY.tables[t].columns.items()
        if spec.role in roles
    ]


def _filtered(plan: QueryPlan, term: Predicate) -> QueryPlan:
    where = term if plan.where is None else And(terms=(plan.where, term))
    return plan.model_copy(update={"where": where})


def _grouped(plan: QueryPlan, ref: ColumnRef, bucket: str | None = None) -> QueryPlan:
    key = GroupKey(column=ref, bucket=bucket, alias="mutated_key")  # type: ignore[arg-type]
    return plan.model_copy(update={"group_by": (*plan.group_by, key)})


Mutation = Callable[[st.DrawFn, QueryPlan], QueryPlan | None]


def identifier_grouped(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    return _grouped(plan, draw(st.sampled_from(_columns(plan, *PROTECTED_ROLES))))


def identifier_filtered(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    ref = draw(st.sampled_from(_columns(plan, *PROTECTED_ROLES)))
    return _filtered(plan, Compare(column=ref, op="=", value="x"))


def unknown_column(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    ref = ColumnRef(table=plan.table, column=draw(st.sampled_from(["nope", "body", "email"])))
    if draw(st.booleans()):
        return _grouped(plan, ref)
    return _filtered(plan, Compare(column=ref, op=">", value=1))


def unread_table(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    other = draw(st.sampled_from([t for t in POLICY.tables if t != plan.table]))
    if plan.join_members and other == POLICY.unit_table:
        return None
    return _grouped(plan, ColumnRef(table=other, column=POLICY.privacy_unit))


def measure_grouped(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    measures = _columns(plan, ColumnRole.MEASURE)
    return _grouped(plan, draw(st.sampled_from(measures))) if measures else None


def bucket_not_a_date(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    refs = _columns(plan, ColumnRole.CATEGORY, ColumnRole.MEASURE)
    bucket = draw(st.sampled_from(["month", "year"]))
    return _grouped(plan, draw(st.sampled_from(refs)), bucket) if refs else None


def not_a_measure(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    ref = draw(st.sampled_from(_columns(plan, ColumnRole.CATEGORY, ColumnRole.DATE)))
    function = draw(st.sampled_from([Aggregation.SUM, Aggregation.MEAN, Aggregation.MEDIAN]))
    added = Aggregate(function=function, column=ref, alias="mutated_stat")
    return plan.model_copy(update={"aggregates": (*plan.aggregates, added)})


def out_of_range(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    measures = _columns(plan, ColumnRole.MEASURE)
    if not measures:
        return None
    value = draw(st.sampled_from([2**40, -(2**40), 2.5, "ten", True]))
    op = draw(st.sampled_from(["=", "<", ">="]))
    return _filtered(plan, Compare(column=draw(st.sampled_from(measures)), op=op, value=value))


def bad_date(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    dates = _columns(plan, ColumnRole.DATE)
    if not dates:
        return None
    ref = draw(st.sampled_from(dates))
    values: list[str | int] = ["2024-13-01", "yesterday", 20240301]
    if grain(POLICY.tables[ref.table].columns[ref.column]) == "month":
        values.append("2024-03-15")  # a column of months holds no 15th
    return _filtered(plan, Compare(column=ref, op="=", value=draw(st.sampled_from(values))))


def not_in_domain(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    refs = [
        r
        for r in _columns(plan, ColumnRole.CATEGORY)
        if POLICY.tables[r.table].columns[r.column].domain
    ]
    if not refs:
        return None
    term = Compare(column=draw(st.sampled_from(refs)), op="=", value="astrology")
    return _filtered(plan, Not(term=term) if draw(st.booleans()) else term)


def null_compared(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    ref = draw(st.sampled_from(_columns(plan, ColumnRole.CATEGORY, ColumnRole.MEASURE)))
    return _filtered(plan, Compare(column=ref, op="=", value=None))


def duplicate_output(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    taken = plan.output_columns[draw(st.integers(0, len(plan.output_columns) - 1))]
    added = Aggregate(function=Aggregation.COUNT, alias=taken.upper())
    return plan.model_copy(update={"aggregates": (*plan.aggregates, added)})


def order_not_output(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    names = [
        r.column
        for r in _columns(plan, ColumnRole.CATEGORY, ColumnRole.MEASURE, ColumnRole.DATE)
        if r.column not in plan.output_columns
        and r.table == plan.table
        and r not in {k.column for k in plan.group_by}
    ]
    if not names:
        return None
    return plan.model_copy(update={"order_by": (OrderBy(alias=draw(st.sampled_from(names))),)})


def limit_too_large(draw: st.DrawFn, plan: QueryPlan) -> QueryPlan | None:
    most = POLICY.limits.max_groups
    return plan.model_copy(update={"limit": draw(st.integers(most + 1, 10 * most))})


PROTECTED_ROLES = (ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER)
MUTATIONS: list[Mutation] = [
    identifier_grouped,
    identifier_filtered,
    unknown_column,
    unread_table,
    measure_grouped,
    bucket_not_a_date,
    not_a_measure,
    out_of_range,
    bad_date,
    not_in_domain,
    null_compared,
    duplicate_output,
    order_not_output,
    limit_too_large,
]


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_a_mistake_gets_the_codes_the_vetter_gives_its_sql(data: st.DataObject) -> None:
    plan = data.draw(st.sampled_from(ACCEPTED))
    mutation = data.draw(st.sampled_from(MUTATIONS))
    mutated = mutation(data.draw, plan)
    if mutated is None:
        return
    expected = codes(lambda: vet(to_sql(mutated), POLICY))
    assert expected, "the mutation makes a mistake"
    assert codes(lambda: check_plan(mutated, POLICY)) == expected, mutation.__name__


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_an_aggregate_the_policy_does_not_allow(data: st.DataObject) -> None:
    plan = data.draw(st.sampled_from(ACCEPTED))
    banned = data.draw(st.sampled_from([a.function for a in plan.aggregates]))
    policy = POLICY.model_copy(
        update={"aggregations": [a for a in POLICY.aggregations if a is not banned]}
    )
    expected = codes(lambda: vet(to_sql(plan), policy))
    assert expected == {"aggregate_not_allowed"}
    assert codes(lambda: check_plan(plan, policy)) == expected


@pytest.mark.parametrize(
    ("sql", "plan"),
    [
        (
            "SELECT COUNT(*) FROM members a JOIN members b ON a.member_pid = b.member_pid",
            QueryPlan(
                table="members",
                join_members=True,
                aggregates=(Aggregate(function=Aggregation.COUNT, alias="n"),),
            ),
        ),
        (
            "SELECT COUNT(*) FROM tip_texts",
            QueryPlan(
                table="tip_texts", aggregates=(Aggregate(function=Aggregation.COUNT, alias="n"),)
            ),
        ),
        (
            "SELECT theme FROM tips GROUP BY theme",
            QueryPlan(
                table="tips",
                group_by=(GroupKey(column=ColumnRef(table="tips", column="theme"), alias="theme"),),
                aggregates=(),
            ),
        ),
    ],
    ids=["members joined to members", "unknown table", "no aggregate"],
)
def test_mistakes_sql_writes_its_own_way(sql: str, plan: QueryPlan, policy: Policy) -> None:
    assert codes(lambda: check_plan(plan, policy)) == codes(lambda: vet(sql, policy))


def test_what_the_checker_does_not_know_it_refuses(policy: Policy) -> None:
    tips = ColumnRef(table="tips", column="helpful_votes")
    count = Aggregate(function=Aggregation.COUNT, alias="n")
    for plan, code in [
        (
            QueryPlan(
                table="tips",
                aggregates=(Aggregate(function=Aggregation.COUNT, column=tips, alias="n"),),
            ),
            "aggregate_not_allowed",
        ),
        (
            QueryPlan(
                table="tips",
                aggregates=(
                    Aggregate(function=Aggregation.MEAN, column=tips, quantile=0.5, alias="m"),
                ),
            ),
            "invalid_quantile",
        ),
        (
            QueryPlan(table="tips", aggregates=(Aggregate(function=Aggregation.SUM, alias="s"),)),
            "unbounded_measure",
        ),
        (
            QueryPlan(table="tips", where=And(terms=()), aggregates=(count,)),
            "unsupported_expression",
        ),
        (
            QueryPlan(
                table="tips",
                where=Compare(column=tips, op=">", value=float("inf")),
                aggregates=(count,),
            ),
            "type_mismatch",
        ),
    ]:
        assert codes(lambda plan=plan: check_plan(plan, policy)) == {code}, plan


def test_a_deep_filter_is_refused_not_recursed_into(policy: Policy) -> None:
    term: Predicate = Compare(column=ColumnRef(table="tips", column="theme"), op="=", value="sleep")
    for _ in range(policy.limits.max_nesting + 1):
        term = Not(term=term)
    plan = QueryPlan(
        table="tips", where=term, aggregates=(Aggregate(function=Aggregation.COUNT, alias="n"),)
    )
    assert codes(lambda: check_plan(plan, policy)) == {"too_deeply_nested"}


def test_a_plan_longer_than_any_query_the_policy_allows_is_refused(policy: Policy) -> None:
    """An IN list as long as the policy's query size in bytes is longer than any SQL the
    vetter takes (each value needs at least two bytes); so is its plan. One value less
    than half of it fits in an accepted query, and so in an accepted plan."""
    theme = ColumnRef(table="tips", column="theme")
    count = (Aggregate(function=Aggregation.COUNT, alias="n"),)

    def plan(values: int) -> QueryPlan:
        return QueryPlan(
            table="tips", where=InSet(column=theme, values=("sleep",) * values), aggregates=count
        )

    most = policy.limits.max_query_bytes
    assert codes(lambda: check_plan(plan(most), policy)) == {"query_too_long"}
    assert codes(lambda: vet(to_sql(plan(most)), policy)) == {"query_too_long"}
    assert check_plan(plan(most // 2 - 3), policy).where is not None


def test_the_checked_plan_is_the_vetters_form_of_the_question(policy: Policy) -> None:
    month = ColumnRef(table="tips", column="created_month")
    votes = ColumnRef(table="tips", column="helpful_votes")
    theme = ColumnRef(table="tips", column="theme")
    built = QueryPlan(
        table="tips",
        where=And(
            terms=(
                And(
                    terms=(
                        Compare(column=votes, op=">", value=2.0),
                        Not(term=Compare(column=theme, op="=", value="sleep")),
                    )
                ),
                Not(term=Compare(column=month, op="<", value="2024-01-01")),
            )
        ),
        group_by=(GroupKey(column=month, bucket="month", alias="month"),),
        aggregates=(Aggregate(function=Aggregation.COUNT, alias="n"),),
    )
    checked = check_plan(built, policy)
    assert checked == vet(to_sql(built), policy)
    assert checked.model_dump_json() == vet(to_sql(built), policy).model_dump_json()
