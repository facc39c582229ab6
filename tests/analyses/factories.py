"""Builders shared by the analysis tests: the example files, plans, hypothesis strategies."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from gateway.analyses import Analysis, AnalysisPlan, col, count, mean, table
from gateway.analyses.collect import collect
from gateway.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    IsNull,
    Not,
    Or,
    OrderBy,
    Predicate,
    QueryPlan,
)
from gateway.policy.model import Aggregation

ROOT = Path(__file__).parent.parent.parent
POLICY = ROOT / "policies" / "health_thing.yaml"
EXAMPLES = sorted((ROOT / "analyses").glob("*.py"))


def example_plan(path: Path) -> AnalysisPlan:
    return collect(path.read_text(encoding="utf-8"), path.name).plan


def sleep_trends() -> Analysis:
    """The worked example of docs/analyses.md."""
    by_month = (
        table("tips")
        .filter(col("theme") == "sleep")
        .join_members()
        .group_by(col("created_month").month().alias("month"))
        .agg(count().alias("tips"), mean("helpful_votes").alias("avg_votes"))
    )
    analysis = Analysis("sleep trends")
    analysis.add("by_month", by_month, share=0.5)
    analysis.add_sql("by_theme", "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme", share=0.5)
    return analysis


names = st.builds(
    lambda head, tail: head + tail, st.sampled_from("abcxyz"), st.text("ab_09", max_size=6)
)
refs = st.builds(ColumnRef, table=names, column=names)
literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.dates().map(lambda d: d.isoformat()),
)
leaves = st.one_of(
    st.builds(
        Compare, column=refs, op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), value=literals
    ),
    st.builds(InSet, column=refs, values=st.tuples(literals, literals), negated=st.booleans()),
    st.builds(Between, column=refs, low=literals, high=literals, negated=st.booleans()),
    st.builds(IsNull, column=refs, negated=st.booleans()),
)
predicates: st.SearchStrategy[Predicate] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(And, terms=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, terms=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Not, term=inner),
    ),
    max_leaves=6,
)
aggregates = st.one_of(
    st.builds(
        Aggregate,
        function=st.sampled_from([Aggregation.COUNT, Aggregation.COUNT_DISTINCT_MEMBERS]),
        alias=names,
    ),
    st.builds(
        Aggregate,
        function=st.sampled_from([Aggregation.SUM, Aggregation.MEAN, Aggregation.MEDIAN]),
        column=refs,
        alias=names,
    ),
    st.builds(
        Aggregate,
        function=st.just(Aggregation.QUANTILE),
        column=refs,
        quantile=st.floats(0.01, 0.99),
        alias=names,
    ),
)
query_plans = st.builds(
    QueryPlan,
    table=names,
    join_members=st.booleans(),
    where=st.none() | predicates,
    group_by=st.lists(
        st.builds(
            GroupKey, column=refs, bucket=st.sampled_from([None, "month", "year"]), alias=names
        ),
        max_size=2,
    ).map(tuple),
    aggregates=st.lists(aggregates, min_size=1, max_size=3).map(tuple),
    order_by=st.lists(st.builds(OrderBy, alias=names, descending=st.booleans()), max_size=2).map(
        tuple
    ),
    limit=st.none() | st.integers(1, 10_000),
)
