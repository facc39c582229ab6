"""The sandbox's entry point: ``python -m gateway.sandbox.inside KIND``.

It runs isolated, with the view, rlimits and syscall filter already in
place. It loads what the job kind needs, then reads ONE JSON job spec from
standard input, performs it and writes ONE JSON ``Output`` to the standard
output it was started with. Anything the job itself prints goes to standard
error, so it cannot corrupt the result.

``query``     attach the extract (read-only, key from the spec), harden the
              DuckDB connection, run the DP engine, return its ``Release``.
``analysis``  collect the plan of researcher source, with no extract and
              no key (``gateway.analyses.collect``); the plan and what the
              code printed are the result, for the trusted side to vet.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from gateway.errors import GatewayError, SandboxError
from gateway.sandbox.jobs import (
    OUTPUT,
    SCRATCH_INSIDE,
    AnalysisOutput,
    AnalysisSpec,
    Failure,
    QueryOutput,
    QuerySpec,
    Spec,
)

if TYPE_CHECKING:
    import duckdb

    from gateway.dp.engine import Outcome

ENGINE_SETTINGS: dict[str, object] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_unsigned_extensions": False,
}
"""DuckDB settings a query connection must have before the engine sees it.

With external access off, DuckDB also refuses to install or load any
extension and to write persistent secrets; locking the configuration keeps it so."""

SPEC: TypeAdapter[QuerySpec | AnalysisSpec] = TypeAdapter(Spec)


def _setting(connection: duckdb.DuckDBPyConnection, name: str) -> object:
    row = connection.execute("SELECT current_setting(?)", [name]).fetchone()
    return row[0] if row else None


def harden(connection: duckdb.DuckDBPyConnection, spec: QuerySpec) -> None:
    """Make the engine itself refuse files, network and extensions, cap it, then lock it.

    Applied on top of whatever the extract reader configured, so a reader or
    engine bug that lets SQL through still meets a connection that can read
    only the attached extract. A setting the reader already locked is accepted
    if it has the safe value; otherwise the job is refused (``engine_not_hardened``).
    """
    import duckdb  # query jobs only; analysis jobs do not pay for it

    wanted: dict[str, tuple[str, object]] = {  # name: (SQL value, value read back)
        "memory_limit": (f"'{spec.duckdb_memory_bytes}B'", None),  # read back reformatted
        "threads": (str(spec.duckdb_threads), spec.duckdb_threads),
        "temp_directory": (f"'{SCRATCH_INSIDE}'", SCRATCH_INSIDE),
    }
    wanted |= {name: (str(value).lower(), value) for name, value in ENGINE_SETTINGS.items()}
    unsafe = []
    for name, (value, readback) in wanted.items():
        if readback is not None and _setting(connection, name) == readback:
            continue
        try:
            connection.execute(f"SET {name} = {value}")
        except duckdb.Error:  # locked by the reader in another state
            if readback is not None:
                unsafe.append(name)
    if not _setting(connection, "lock_configuration"):
        connection.execute("SET lock_configuration = true")
    if unsafe:
        raise SandboxError(
            "engine_not_hardened",
            f"the DuckDB connection could not be hardened: {', '.join(unsafe)}",
            hint="the extract reader must not lock its configuration in an unsafe state",
        )


def run_query(spec: QuerySpec) -> QueryOutput:
    try:
        execute = importlib.import_module("gateway.dp").execute
        attach = importlib.import_module("gateway.extract.reader").attach
    except (ImportError, AttributeError) as err:
        raise SandboxError(
            "engine_unavailable",
            f"the sandbox runtime lacks the query engine: {err}",
            hint="install the complete gateway package",
        ) from None

    connection = attach(
        Path(spec.extract_path),
        spec.key,
        memory_limit=f"{spec.duckdb_memory_bytes}B",
        threads=spec.duckdb_threads,
        temp_directory=Path(SCRATCH_INSIDE),
    )
    harden(connection, spec)
    outcome: Outcome = execute(
        spec.plan,
        spec.policy,
        connection,
        shape=spec.shape,
        epsilon=spec.epsilon,
        extract_hash=spec.extract_hash,
        dummy=spec.dummy,
        tuning=spec.tuning,
        searched=spec.searched,
    )
    return QueryOutput(release=outcome.release, tuning=outcome.tuning, searched=outcome.searched)


def run_analysis(spec: AnalysisSpec) -> AnalysisOutput:
    from gateway.analyses.collect import collect

    return AnalysisOutput(collected=collect(spec.code, spec.filename))


def perform(raw: bytes) -> QueryOutput | AnalysisOutput | Failure:
    """One spec in, one output out; every failure becomes data, never a crash."""
    try:
        spec = SPEC.validate_json(raw)
    except ValidationError as err:
        return Failure(
            error="SandboxError",
            code="malformed_spec",
            message=f"the job spec is not valid: {err.error_count()} error(s)",
        )
    try:
        if isinstance(spec, QuerySpec):
            return run_query(spec)
        return run_analysis(spec)
    except GatewayError as err:
        return Failure(
            error=type(err).__name__,
            code=err.code,
            message=err.message,
            hint=err.hint,
            issues=err.issues,
        )
    except MemoryError:
        return Failure(
            error="SandboxError",
            code="memory_limit",
            message="the job ran out of memory",
            hint="ask for fewer groups or a smaller analysis, or raise the sandbox memory limit",
        )
    except (Exception, SystemExit) as err:
        # The message of an engine exception may quote extract values: log where it
        # happened and its type, never its text.
        trace = "".join(traceback.format_tb(err.__traceback__))
        print(f"{trace}{type(err).__name__} (message withheld)", file=sys.stderr)
        return Failure(
            error="SandboxError",
            code="engine_failed",
            message=f"the query engine failed ({type(err).__name__})",
            hint="the operator's log has the details",
        )


def _warm(kind: str) -> None:
    """Load the job kind's runtime while the sandbox waits for its job."""
    modules = ["duckdb", "gateway.dp", "gateway.extract.reader"]
    if kind == "analysis":
        modules = ["gateway.analyses.collect"]
    for name in modules:
        with contextlib.suppress(ImportError):  # reported when the job needs it
            importlib.import_module(name)


def main() -> None:
    result = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the job's own prints land in the log, not in the result
    sys.stdout = sys.stderr
    _warm(sys.argv[1] if len(sys.argv) > 1 else "")
    output = perform(sys.stdin.buffer.read())
    result.write(OUTPUT.dump_json(output))
    result.flush()
    sys.stderr.flush()
    os._exit(0)  # the result is out; interpreter teardown would only delay the parent


if __name__ == "__main__":
    main()
