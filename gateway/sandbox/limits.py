"""Resource limits of one sandboxed job.

Every limit is enforced by the kernel or by the trusted side, never by code
running inside: rlimits are set in the child before the interpreter starts,
the scratch tmpfs has a fixed size, the wall clock and the result size are
watched by the parent, and DuckDB gets its own memory and thread caps.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024
GiB = 1024 * MiB


class Limits(BaseModel):
    """What one job may consume; defaults fit a 2-core machine with a few workers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=120, description="from sending the job to the last byte of its result"
    )
    cpu_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=120, description="RLIMIT_CPU; SIGXCPU at this, SIGKILL one second later"
    )
    address_space_bytes: Annotated[int, Field(ge=256 * MiB)] = Field(
        default=6 * GiB, description="RLIMIT_AS of every process in the sandbox"
    )
    file_size_bytes: Annotated[int, Field(ge=MiB)] = Field(
        default=512 * MiB, description="RLIMIT_FSIZE: largest file the job may write"
    )
    processes: Annotated[int, Field(ge=8, le=4096)] = Field(
        default=64, description="RLIMIT_NPROC: tasks (threads included) of the sandbox user"
    )
    open_files: Annotated[int, Field(ge=32, le=65536)] = Field(
        default=256, description="RLIMIT_NOFILE"
    )
    scratch_bytes: Annotated[int, Field(ge=MiB)] = Field(
        default=512 * MiB, description="size of the private tmpfs mounted at /tmp"
    )
    result_bytes: Annotated[int, Field(ge=1024, le=256 * MiB)] = Field(
        default=16 * MiB, description="largest JSON result accepted from the sandbox"
    )
    log_bytes: Annotated[int, Field(ge=1024, le=16 * MiB)] = Field(
        default=64 * 1024, description="standard error kept for the operator's log"
    )
    duckdb_memory_bytes: Annotated[int, Field(ge=64 * MiB)] = Field(
        default=2 * GiB, description="DuckDB memory_limit; spills to the scratch tmpfs beyond"
    )
    duckdb_threads: Annotated[int, Field(ge=1, le=64)] = 2
