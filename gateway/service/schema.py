"""What a researcher may ask about: the extract's tables and columns, from the policy alone.

Nothing here reads an extract: roles, types, public category domains, clamp
ranges, date ranges and each table's contribution maxima are the policy's
own values, so the schema is the same for every project and may be shown
to anyone.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.policy.model import Aggregation, ColumnRole, Policy

USES: dict[ColumnRole, str] = {
    ColumnRole.PRIVACY_UNIT: "the unit of privacy: joins members, counted as "
    "COUNT(DISTINCT member_pid), never output",
    ColumnRole.IDENTIFIER: "never output, grouped or filtered on",
    ColumnRole.CATEGORY: "group by and filter on",
    ColumnRole.MEASURE: "aggregate (clamped to its range) and filter on",
    ColumnRole.DATE: "group by and filter on",
}


class ColumnSchema(BaseModel):
    name: str
    role: ColumnRole
    type: str
    description: str
    use: str = Field(description="what a query may do with it")
    domain: list[str] | None = Field(
        default=None, description="a category's public values: each is a released group"
    )
    lower: float | None = Field(default=None, description="a measure's clamp range, lowest")
    upper: float | None = None
    first: str | None = Field(default=None, description="a date's public range, first day")
    last: str | None = None


class TableSchema(BaseModel):
    name: str
    description: str
    max_rows_per_group: int = Field(description="the most rows of one member in one group")
    max_groups: int = Field(description="the most groups one member counts in")
    columns: list[ColumnSchema]


class SchemaPublic(BaseModel):
    policy: str
    version: int
    unit_table: str = Field(description="the one table other tables may join, on member_pid")
    aggregations: list[Aggregation]
    per_query_epsilon_cap: float
    default_query_epsilon: float
    tables: list[TableSchema]


def describe(policy: Policy) -> SchemaPublic:
    """The policy's tables and columns as researchers see them."""
    tables = []
    for name, table in policy.tables.items():
        columns = []
        for column_name, column in table.columns.items():
            is_date = column.type == "DATE" and column.domain is not None
            columns.append(
                ColumnSchema(
                    name=column_name,
                    role=column.role,
                    type=column.type,
                    description=column.description,
                    use=USES[column.role],
                    domain=None if is_date or column.domain is None else list(column.domain),
                    lower=column.lower,
                    upper=column.upper,
                    first=column.domain[0] if is_date and column.domain else None,
                    last=column.domain[-1] if is_date and column.domain else None,
                )
            )
        tables.append(
            TableSchema(
                name=name,
                description=table.description,
                max_rows_per_group=table.contributions.max_rows_per_group,
                max_groups=table.contributions.max_groups,
                columns=columns,
            )
        )
    return SchemaPublic(
        policy=policy.name,
        version=policy.version,
        unit_table=policy.unit_table,
        aggregations=list(policy.aggregations),
        per_query_epsilon_cap=policy.budget.per_query_epsilon_cap,
        default_query_epsilon=policy.budget.default_query_epsilon,
        tables=tables,
    )
