"""Rendering a plan gives the SQL it stands for, and nothing a forged plan could smuggle in."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from hypothesis import given
from sqlglot import exp

from gateway.analyses import col, count, mean, table
from gateway.analyses.render import to_sql
from gateway.plan import ColumnRef, Compare, QueryPlan
from tests.analyses.factories import EXAMPLES, example_plan, query_plans


@given(query_plans)
def test_any_plan_renders_to_one_select_with_its_outputs(plan: QueryPlan) -> None:
    statements = sqlglot.parse(to_sql(plan), dialect="duckdb")
    assert len(statements) == 1
    select = statements[0]
    assert isinstance(select, exp.Select)
    assert select.named_selects == plan.output_columns
    assert (select.args.get("where") is None) == (plan.where is None)
    assert len(select.args.get("joins") or []) == int(plan.join_members)


def test_names_and_values_stay_names_and_values() -> None:
    hostile = 'x" FROM members; DROP TABLE tips; --'
    plan = QueryPlan.model_validate(
        {
            "table": "tips",
            "where": Compare(
                column=ColumnRef(table="tips", column=hostile),
                op="=",
                value="'; DROP TABLE tips; --",
            ).model_dump(),
            "aggregates": [{"function": "count", "alias": hostile}],
        }
    )
    select = sqlglot.parse_one(to_sql(plan), dialect="duckdb")
    assert isinstance(select, exp.Select)
    assert select.named_selects == [hostile]
    assert [c.name for c in select.find_all(exp.Column)] == [hostile]
    literal = select.find(exp.Literal)
    assert literal is not None
    assert literal.this == "'; DROP TABLE tips; --"
    assert not list(select.find_all(exp.Drop))


def test_sql_shows_researchers_what_their_query_means() -> None:
    q = (
        table("tips")
        .filter(col("theme") == "sleep")
        .join_members()
        .group_by(col("created_month").month().alias("month"))
        .agg(count().alias("tips"), mean("helpful_votes").alias("avg_votes"))
    )
    assert q.sql() == (
        'SELECT DATE_TRUNC(\'MONTH\', "tips"."created_month") AS "month", '
        'COUNT(*) AS "tips", AVG("tips"."helpful_votes") AS "avg_votes" '
        'FROM "tips" JOIN "members" ON "tips"."member_pid" = "members"."member_pid" '
        'WHERE "tips"."theme" = \'sleep\' '
        'GROUP BY DATE_TRUNC(\'MONTH\', "tips"."created_month")'
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_sql_runs_on_the_extract_schema(path: Path, dummy_extract: Path) -> None:
    # Plain DuckDB, no DP: only checks that each rendered query is valid SQL over
    # the extract's tables and columns and yields one column per output.
    con = duckdb.connect(str(dummy_extract), read_only=True)
    try:
        for query in example_plan(path).queries:
            assert query.plan is not None
            result = con.sql(to_sql(query.plan))
            assert result.columns == query.plan.output_columns
            assert result.fetchall()
    finally:
        con.close()
