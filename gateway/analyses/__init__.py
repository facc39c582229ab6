"""The analysis SDK: Python analyses that build DP query plans without data.

A researcher's file builds an ``Analysis`` out of queries (``table(...)``,
``col(...)``, ``count()``, ...) or SQL strings, each with a share of the ε the
analysis is run with. The sandbox runs the file with no extract mounted and
sends back only the resulting ``AnalysisPlan`` as JSON; the trusted side vets
it with the same rules as SQL (``gateway.analyses.vetting``) and executes it
with the DP engine. See docs/analyses.md.
"""

from gateway.analyses.builder import (
    Agg,
    Analysis,
    Col,
    Cond,
    Query,
    col,
    count,
    count_members,
    mean,
    median,
    quantile,
    sum_,
    table,
)
from gateway.analyses.plan import MAX_QUERIES, AnalysisPlan, PlannedQuery

__all__ = [
    "MAX_QUERIES",
    "Agg",
    "Analysis",
    "AnalysisPlan",
    "Col",
    "Cond",
    "PlannedQuery",
    "Query",
    "col",
    "count",
    "count_members",
    "mean",
    "median",
    "quantile",
    "sum_",
    "table",
]
