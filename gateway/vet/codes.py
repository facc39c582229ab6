"""Every reason the vetter gives for refusing a query.

One stable snake_case code per reason; docs/vetting.md explains each with an
example and its fix, and a test keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.policy import epsilon


class Code(StrEnum):
    # the whole text
    QUERY_REJECTED = "query_rejected"
    UNREADABLE_QUERY = "unreadable_query"
    QUERY_TOO_LONG = "query_too_long"
    EMPTY_QUERY = "empty_query"
    MULTIPLE_STATEMENTS = "multiple_statements"
    FORBIDDEN_STATEMENT = "forbidden_statement"
    NOT_SELECT = "not_select"
    PARSE_ERROR = "parse_error"
    TOO_DEEPLY_NESTED = "too_deeply_nested"
    # query shape
    SET_OPERATION = "set_operation"
    CTE = "cte"
    SUBQUERY = "subquery"
    UNSUPPORTED_CLAUSE = "unsupported_clause"
    HAVING_NOT_SUPPORTED = "having_not_supported"
    WINDOW_FUNCTION = "window_function"
    # tables and columns
    MISSING_FROM = "missing_from"
    TABLE_FUNCTION = "table_function"
    SYSTEM_CATALOG = "system_catalog"
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_COLUMN = "unknown_column"
    AMBIGUOUS_COLUMN = "ambiguous_column"
    JOIN_NOT_ALLOWED = "join_not_allowed"
    # identifiers
    IDENTIFIER_IN_OUTPUT = "identifier_in_output"
    IDENTIFIER_IN_GROUP_BY = "identifier_in_group_by"
    IDENTIFIER_IN_FILTER = "identifier_in_filter"
    IDENTIFIER_IN_EXPRESSION = "identifier_in_expression"
    ROW_LEVEL_OUTPUT = "row_level_output"
    # aggregates
    AGGREGATE_NOT_ALLOWED = "aggregate_not_allowed"
    UNBOUNDED_MEASURE = "unbounded_measure"
    INVALID_QUANTILE = "invalid_quantile"
    MISPLACED_AGGREGATE = "misplaced_aggregate"
    # expressions and functions
    UNSUPPORTED_EXPRESSION = "unsupported_expression"
    FUNCTION_NOT_ALLOWED = "function_not_allowed"
    UDF = "udf"
    LAMBDA = "lambda"
    # grouping
    COLUMN_NOT_GROUPED = "column_not_grouped"
    NOT_GROUPABLE = "not_groupable"
    INVALID_GROUP_BY = "invalid_group_by"
    UNSUPPORTED_GROUPING = "unsupported_grouping"
    UNSUPPORTED_BUCKET = "unsupported_bucket"
    TOO_MANY_GROUPS = "too_many_groups"
    # output names, order and limit
    DUPLICATE_OUTPUT = "duplicate_output"
    INVALID_ALIAS = "invalid_alias"
    ORDER_BY_NOT_OUTPUT = "order_by_not_output"
    INVALID_LIMIT = "invalid_limit"
    # constants in WHERE
    TYPE_MISMATCH = "type_mismatch"
    INVALID_LITERAL = "invalid_literal"
    LITERAL_OUT_OF_RANGE = "literal_out_of_range"
    NOT_A_WHOLE_NUMBER = "not_a_whole_number"
    VALUE_NOT_IN_DOMAIN = "value_not_in_domain"
    # bounds fixed by the researcher (``bounds.py``)
    BOUNDS_OUTSIDE_POLICY = "bounds_outside_policy"
    INVALID_BOUNDS = "invalid_bounds"
    CLAMP_NOT_IN_QUERY = "clamp_not_in_query"
    # the privacy budget asked for
    INVALID_EPSILON = epsilon.INVALID_EPSILON
    EPSILON_OVER_CAP = epsilon.EPSILON_OVER_CAP
