"""What the service takes from outside, typed once: ids, sequence numbers and ε.

Ids and sequence numbers fit the metadata database's integer columns
(PostgreSQL ``integer``), so one past them is refused with 422 like any
malformed input, never sent to the database to fail there. ε is a finite,
positive number: NaN and ±Infinity are refused at the boundary, so they are
never stored (a stored NaN would also break every JSON answer that shows it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**31 - 1
"""The largest value of a PostgreSQL ``integer``, the type of every id column."""

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Seq = Annotated[int, Query(ge=0, le=MAX_ID, description="audit sequence number to continue after")]
Epsilon = Annotated[float, Field(gt=0, allow_inf_nan=False)]
EPSILON_DEFAULT = "default: the policy's per-query ε"
