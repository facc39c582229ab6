"""Which extract tables a query reads, and what its column names refer to.

Names are matched the way DuckDB matches them (ASCII case-insensitive, quoted
or not) and always come out as the policy's own spelling, so the plan never
carries researcher text as a table or column name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from gateway.errors import Issue
from gateway.plan import ColumnRef
from gateway.policy.model import Column, ColumnRole, Policy
from gateway.source.schema import SOURCE_TABLES
from gateway.vet.codes import Code
from gateway.vet.shapes import extra_args
from gateway.vet.text import QueryText, did_you_mean, fold

PROTECTED = frozenset({ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER})
"""Roles that may never be output, grouped on, filtered on or computed with."""

_SOURCE_COLUMNS = frozenset(column for columns in SOURCE_TABLES.values() for column in columns)


@dataclass(frozen=True)
class Bound:
    """A column reference resolved against the policy."""

    ref: ColumnRef
    spec: Column

    @property
    def protected(self) -> bool:
        return self.spec.role in PROTECTED


@dataclass
class Scope:
    """The tables in FROM/JOIN, by the name the query uses for each."""

    policy: Policy
    text: QueryText
    bindings: dict[str, str] = field(default_factory=dict)
    """Folded alias (or table name when unaliased) -> policy table name."""
    complete: bool = True
    """False once a FROM/JOIN item failed: unresolved names are then not news."""
    _columns: dict[str, dict[str, str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._columns = {
            table: {name.lower(): name for name in spec.columns}
            for table, spec in self.policy.tables.items()
        }

    def column_names(self, table: str) -> dict[str, str]:
        """Folded column name -> the policy's spelling."""
        return self._columns[table]

    def resolve(self, column: exp.Column) -> Bound | Issue | None:
        """The policy column a reference names, or why it names none.

        None when the name is unknown but FROM already failed, so the
        reference may belong to the table that could not be read.
        """
        name = column.name
        qualifier = column.table
        extra = extra_args(column, {"this", "table", "db", "catalog"})
        if extra:
            return self.text.issue(
                Code.UNSUPPORTED_EXPRESSION,
                f"this form of column reference ({', '.join(extra)}) is not supported",
                column,
                hint="refer to columns as column or alias.column",
            )
        if column.args.get("catalog") is not None or (
            column.args.get("db") is not None and fold(column.text("db")) != "main"
        ):
            return self.text.issue(
                Code.UNKNOWN_TABLE,
                f"`{column.sql(dialect='duckdb')}` names a table outside the extract",
                column,
                hint="refer to columns as column or alias.column",
            )
        if qualifier:
            table = self.bindings.get(fold(qualifier) or "")
            if table is None and not self.complete:
                return None
            if table is None:
                return self.text.issue(
                    Code.UNKNOWN_TABLE,
                    f"`{qualifier}` is not a table or alias in FROM/JOIN",
                    column,
                    hint=did_you_mean(qualifier, self.bindings) or self._tables_hint(),
                )
            tables = [table]
        else:
            tables = list(dict.fromkeys(self.bindings.values()))
        key = fold(name)
        found = [(t, self.column_names(t)[key]) for t in tables if key in self.column_names(t)]
        if len(found) > 1 and key == self.policy.privacy_unit:
            found = found[:1]  # equal on every row of an inner join on it
        if len(found) > 1:
            aliases = [a for a, t in self.bindings.items() if t in {f[0] for f in found}]
            return self.text.issue(
                Code.AMBIGUOUS_COLUMN,
                f"`{name}` is a column of more than one joined table",
                column,
                hint="qualify it: " + " or ".join(f"{a}.{found[0][1]}" for a in aliases),
            )
        if found:
            table, canonical = found[0]
            spec = self.policy.tables[table].columns[canonical]
            return Bound(ColumnRef(table=table, column=canonical), spec)
        if not self.complete:
            return self._unit() if key == self.policy.privacy_unit else None
        if not qualifier and key in self.bindings:
            return self.text.issue(
                Code.ROW_LEVEL_OUTPUT,
                f"`{name}` is a table: it stands for whole rows, which are never released",
                column,
                hint="select group keys and aggregates such as COUNT(*)",
            )
        return self.text.issue(
            Code.UNKNOWN_COLUMN,
            f"`{name}` is not a column of {' or '.join(sorted(set(tables)))}",
            column,
            hint=self._column_hint(name, tables),
        )

    def _unit(self) -> Bound:
        """The privacy unit, which every table has: protected even where FROM failed."""
        table, column = self.policy.unit_table, self.policy.privacy_unit
        spec = self.policy.tables[table].columns[column]
        return Bound(ColumnRef(table=table, column=column), spec)

    def _column_hint(self, name: str, tables: list[str]) -> str:
        candidates = [c for t in tables for c in self.policy.tables[t].columns]
        close = did_you_mean(name, candidates)
        if close:
            return close
        key = fold(name)
        elsewhere = [t for t in self.policy.tables if key in self.column_names(t)]
        unit = self.policy.unit_table
        if unit in elsewhere and unit not in tables:
            pid = self.policy.privacy_unit
            return f"`{name}` is a column of {unit}: JOIN {unit} m ON t.{pid} = m.{pid}"
        if elsewhere:
            return f"`{name}` is a column of {elsewhere[0]}; a query reads one extract table"
        if key in _SOURCE_COLUMNS:
            return (
                f"`{name}` never leaves the platform: contact details, free text and exact "
                "dates are not in the extract"
            )
        return "the columns are: " + ", ".join(candidates)

    def _tables_hint(self) -> str:
        return "the tables in this query are: " + ", ".join(self.bindings)
