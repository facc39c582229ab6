"""No free answers: whether a query fails never depends on the rows in the extract.

The corpus below is every way we found (or could think of) to make a query
fail only when some row matches: constants that cannot be cast, overflows,
impossible dates, casts, arithmetic, huge lists, identifiers, and the same
as forged plans that never passed the SQL vetter. For each, the outcome on an
extract with one particular member and on the same extract without them must
be the same: refused before data with the same code, or released. And none may
end as a failure after data was read: those cost the whole ε, but they should
not happen at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gateway.dp.shape import shape_of
from gateway.errors import GatewayError, ReleaseFailed
from gateway.plan import (
    Aggregate,
    Between,
    ColumnRef,
    Compare,
    InSet,
    IsNull,
    Not,
    QueryPlan,
)
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.sandbox.jobs import QueryJob
from gateway.sandbox.protocol import AFTER_DATA, run_query
from gateway.sandbox.stub import StubSandbox
from gateway.vet import vet
from tests.dp import factories as f

TARGET = 0
"""The member whose presence each oracle would reveal: born 1948, from SR, joined April 2024."""
WHERE_TARGET = "country = 'SR' AND birth_year = 1948 AND joined_month = DATE '2024-04-01'"
TIPS_OF_TARGET = "theme = 'diabetes' AND created_date = DATE '2024-04-07'"

SQL_ORACLES = [
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year < 99999999999",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year < 1e11",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year <> 3000000000",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year BETWEEN 0 AND 9e18",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year IN (1948, 2147483648)",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND NOT (birth_year = -99999999999)",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year = 1948.5",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year = '1948'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year = 'x'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year = CAST('x' AS INT)",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND CAST(country AS INT) = 1",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year / 0 = 1",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND 1 / (birth_year - 1948) = 1",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year + 2147483647 > 0",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND joined_month < '2024-02-30'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND joined_month < '99999-01-01'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND joined_month = '2024-04-15'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND joined_month > 20240401",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} "
    "AND joined_month + INTERVAL 1 DAY > DATE '2024-01-01'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND length(country) > 1",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND country LIKE 'S%'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND country = NULL",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND try_cast(country AS INT) IS NULL",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND error('found') IS NULL",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND member_pid = 'x'",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET} AND birth_year IN ("
    + ", ".join(str(1900 + i % 200) for i in range(2000))
    + ", 4294967296)",
    f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET}",  # a plain, allowed question
    f"SELECT AVG(birth_year) AS y FROM members WHERE {WHERE_TARGET}",
    f"SELECT MEDIAN(birth_year) AS y FROM members WHERE {WHERE_TARGET}",
    f"SELECT SUM(helpful_votes) AS v FROM tips WHERE {TIPS_OF_TARGET} AND helpful_votes < 1e10",
    f"SELECT COUNT(*) AS n FROM tips WHERE {TIPS_OF_TARGET} AND word_count = 2.5",
    f"SELECT COUNT(*) AS n FROM tips WHERE {TIPS_OF_TARGET} AND helpful_votes > -2147483649",
    f"SELECT AVG(word_count) AS w FROM tips JOIN members USING (member_pid) "
    f"WHERE {TIPS_OF_TARGET} AND birth_year < 99999999999",
]

BIRTH_YEAR = ColumnRef(table="members", column="birth_year")
JOINED = ColumnRef(table="members", column="joined_month")
COUNTRY = ColumnRef(table="members", column="country")


def _forged(*extra: Any) -> QueryPlan:
    """A plan as an analysis could forge it: the target's conditions and ``extra``, no vetter."""
    from gateway.plan import And

    target = (
        Compare(column=COUNTRY, op="=", value="SR"),
        Compare(column=BIRTH_YEAR, op="=", value=1948),
        Compare(column=JOINED, op="=", value="2024-04-01"),
    )
    return QueryPlan(
        table="members",
        where=And(terms=(*target, *extra)),
        aggregates=(Aggregate(function=Aggregation.COUNT, alias="n"),),
    )


PLAN_ORACLES = [
    _forged(Compare(column=BIRTH_YEAR, op="<", value=99999999999)),
    _forged(Compare(column=BIRTH_YEAR, op="<", value=1e300)),
    _forged(Compare(column=BIRTH_YEAR, op="=", value=1948.5)),
    _forged(Compare(column=BIRTH_YEAR, op="=", value=True)),
    _forged(Compare(column=BIRTH_YEAR, op="=", value="1948")),
    _forged(Compare(column=BIRTH_YEAR, op="=", value=None)),
    _forged(Compare(column=BIRTH_YEAR, op="<", value=float("inf"))),
    _forged(Compare(column=BIRTH_YEAR, op="<", value=float("nan"))),
    _forged(Compare(column=JOINED, op="<", value="2024-13-01")),
    _forged(Compare(column=JOINED, op="<", value="yesterday")),
    _forged(Compare(column=JOINED, op="<", value=20240401)),
    _forged(Compare(column=COUNTRY, op="=", value=1)),
    _forged(InSet(column=BIRTH_YEAR, values=(1948, "x"))),
    _forged(InSet(column=BIRTH_YEAR, values=(1948, 2**40))),
    _forged(Between(column=BIRTH_YEAR, low=0, high=2**63)),
    _forged(Between(column=JOINED, low="2024-01-01", high="2024-99-01")),
    _forged(Not(term=Compare(column=BIRTH_YEAR, op="!=", value=-(2**31) - 1))),
    _forged(IsNull(column=ColumnRef(table="members", column="member_pid"))),
    _forged(Compare(column=ColumnRef(table="tips", column="word_count"), op="=", value=1)),
    _forged(),  # allowed
]


@pytest.fixture(scope="module")
def extracts() -> tuple[Policy, duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]:
    """The same 60 members and their tips, with and without the target member."""
    policy = f.policy()
    crowd = [f.member(m, birth_year=1950 + m % 40) for m in range(1, 61)]
    crowd_tips = [f.tip(m, "sleep", n=i) for m in range(1, 61) for i in range(3)]
    target = (f.pid(TARGET), 1948, "75+", "abroad", "SR", dt.date(2024, 4, 1))
    target_tips = [f.tip(TARGET, "diabetes", dt.date(2024, 4, 7), n=i) for i in range(3)]
    present = f.extract(policy, {"members": [*crowd, target], "tips": crowd_tips + target_tips})
    absent = f.extract(policy, {"members": crowd, "tips": crowd_tips})
    return policy, present, absent


def outcome(question: str | QueryPlan, policy: Policy, con: duckdb.DuckDBPyConnection) -> Any:
    """What a researcher learns besides the noisy numbers: refused how, released, or failed."""
    try:
        plan = vet(question, policy) if isinstance(question, str) else question
        release = f.released(plan, policy, con, epsilon=1.0, extract_hash="oracle")
    except ReleaseFailed:
        return ("failed after reading",)
    except GatewayError as err:
        return ("refused", type(err).__name__, err.code, err.message, err.hint)
    return ("released", tuple(release.columns))


@pytest.mark.parametrize(
    "question",
    SQL_ORACLES + PLAN_ORACLES,
    ids=[f"sql-{i}" for i in range(len(SQL_ORACLES))]
    + [f"plan-{i}" for i in range(len(PLAN_ORACLES))],
)
def test_no_outcome_depends_on_whether_a_member_is_in_the_extract(
    extracts: tuple[Policy, duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    question: str | QueryPlan,
) -> None:
    policy, present, absent = extracts
    with_member = outcome(question, policy, present)
    assert with_member == outcome(question, policy, absent)
    assert with_member[0] != "failed after reading"


def test_the_corpus_holds_refusals_and_releases(
    extracts: tuple[Policy, duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
) -> None:
    """Guards the property above against a corpus that is only ever refused (or released)."""
    policy, present, _ = extracts
    kinds = [outcome(q, policy, present)[0] for q in SQL_ORACLES + PLAN_ORACLES]
    assert kinds.count("released") >= 4
    assert kinds.count("refused") >= 40


def test_a_failure_while_reading_is_charged_and_says_nothing_of_its_cause(
    extracts: tuple[Policy, duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: a failure the checks did not foresee is one generic, charged refusal."""
    policy, present, _ = extracts
    plan = vet(f"SELECT COUNT(*) AS n FROM members WHERE {WHERE_TARGET}", policy)
    causes = [
        duckdb.ConversionException("Could not convert string 'SR-1948' to INT32"),
        MemoryError(),
        ZeroDivisionError("1948"),
    ]
    messages = set()
    for cause in causes:

        def fail(*_: object, cause: BaseException = cause) -> None:
            raise cause

        monkeypatch.setattr("gateway.dp.frame.Reduction.frame", fail)
        with pytest.raises(ReleaseFailed) as caught:
            f.released(plan, policy, present, epsilon=1.0, extract_hash="oracle")
        assert caught.value.charged
        assert "SR" not in str(caught.value)
        assert "1948" not in str(caught.value)
        messages.add((caught.value.code, caught.value.message, caught.value.hint))
    assert len(messages) == 1  # the same words whatever happened


@pytest.mark.parametrize("code", sorted(AFTER_DATA))
def test_a_query_job_killed_after_it_started_is_a_charged_release_failure(
    code: str, tmp_path: Path
) -> None:
    from gateway.errors import SandboxError
    from gateway.sandbox.protocol import Step

    extract = tmp_path / "e.duckdb"
    extract.touch()
    plan = QueryPlan(table="tips", aggregates=(Aggregate(function="count", alias="n"),))
    job = QueryJob(
        plan=plan,
        policy=f.policy(),
        epsilon=1.0,
        shape=shape_of(plan, f.policy(), epsilon=1.0),
        extract=extract,
        extract_hash="e",
        key=None,
    )
    sandbox = StubSandbox(fail_at=Step.EXECUTED, error=SandboxError(code, "killed"))
    with pytest.raises(ReleaseFailed):
        run_query(sandbox, job)
    before = StubSandbox(fail_at=Step.PREPARED, error=SandboxError("sandbox_unavailable", "no"))
    with pytest.raises(SandboxError) as refused:  # it never started: nothing was read
        run_query(before, job)
    assert not refused.value.charged
