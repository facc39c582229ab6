"""Builders for sandbox tests: a mock deployment, extracts, jobs, test packages."""

from __future__ import annotations

import compileall
import json
import shutil
import sqlite3
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
from pydantic import JsonValue

import gateway
from gateway.dp.shape import shape_of
from gateway.plan import Aggregate, QueryPlan
from gateway.policy.load import load_policy
from gateway.sandbox import AnalysisJob, Limits, QueryJob, Sandbox, run_analysis

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).resolve().parent / "standin"
KEY = "5a" * 32  # 64 hex digits, as the extract builder makes them
TIPS = 37

TEST_LIMITS = Limits(
    wall_seconds=30,
    cpu_seconds=20,
    address_space_bytes=2 * 1024**3,
    scratch_bytes=64 * 1024**2,
    result_bytes=1024**2,
    duckdb_memory_bytes=256 * 1024**2,
    duckdb_threads=1,
)


def httpfs_extension() -> Path:
    import duckdb_ext  # type: ignore[import-untyped]

    (found,) = Path(duckdb_ext.__path__[0]).glob(
        f"extensions/v{duckdb.__version__}/*/httpfs.duckdb_extension"
    )
    return found


def make_extract(path: Path, key: str = KEY, rows: int = TIPS) -> Path:
    """An encrypted DuckDB file with a ``tips`` table, as the extract builder writes."""
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})
    connection.execute(f"LOAD '{httpfs_extension()}'")
    connection.execute(f"ATTACH '{path}' AS e (ENCRYPTION_KEY '{key}')")
    connection.execute(
        f"CREATE TABLE e.tips AS SELECT range AS tip_pid, range % 7 AS theme FROM range({rows})"
    )
    connection.execute("DETACH e")
    connection.close()
    return path


@dataclass(frozen=True)
class Deployment:
    """The trusted side's state laid out as in production, for the sandbox not to see."""

    data_dir: Path
    key_dir: Path
    metadata_db: Path
    audit_log: Path
    extract: Path
    other_extract: Path

    @property
    def secrets(self) -> dict[str, Path]:
        return {
            "key_dir": self.key_dir,
            "key_file": self.key_dir / "project-1.key",
            "metadata_db": self.metadata_db,
            "audit_log": self.audit_log,
            "other_extract": self.other_extract,
            "data_dir": self.data_dir,
        }


def make_deployment(root: Path) -> Deployment:
    data_dir = root / ".gateway"
    key_dir = data_dir / "keys"
    key_dir.mkdir(parents=True, mode=0o700)
    (key_dir / "project-1.key").write_text(KEY)
    metadata_db = data_dir / "gateway.sqlite"
    with sqlite3.connect(metadata_db) as db:
        db.execute("CREATE TABLE tokens (hash TEXT)")
    audit_log = data_dir / "audit.log"
    audit_log.write_text('{"event": "granted"}\n')
    extracts = root / "extracts"
    extracts.mkdir()
    return Deployment(
        data_dir=data_dir,
        key_dir=key_dir,
        metadata_db=metadata_db,
        audit_log=audit_log,
        extract=make_extract(extracts / "project-1.duckdb"),
        other_extract=make_extract(extracts / "project-2.duckdb", key="6b" * 32),
    )


def package_with_standin_engine(target: Path, *, standin_reader: bool = True) -> Path:
    """A copy of the gateway package whose engine (and reader) are the stand-ins."""
    package = target / "gateway"
    shutil.copytree(
        Path(gateway.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    if standin_reader:
        shutil.copy(STANDIN / "reader.py", package / "extract" / "reader.py")
    shutil.copy(STANDIN / "engine.py", package / "dp" / "standin_engine.py")
    with (package / "dp" / "__init__.py").open("a") as init:
        init.write("\nfrom gateway.dp.standin_engine import execute  # noqa: E402,F401\n")
    compileall.compile_dir(package, quiet=1)  # the sandbox cannot write bytecode
    return package


def query_job(extract: Path, table: str = "tips", key: str = KEY) -> QueryJob:
    """A count over ``table``; its shape is a count over tips (the stand-in ignores it)."""
    policy = load_policy(ROOT / "policies" / "health_thing.yaml")
    count = QueryPlan(table="tips", aggregates=(Aggregate(function="count", alias="n"),))
    return QueryJob(
        plan=count.model_copy(update={"table": table}),
        policy=policy,
        epsilon=1.0,
        shape=shape_of(count, policy, epsilon=1.0),
        extract=extract,
        extract_hash="sha256:test-extract",
        key=key,
    )


def analysis_job(code: str) -> AnalysisJob:
    return AnalysisJob(code=code)


ESCAPE = """
import gateway.analyses.collect as _collect
_report = print  # the SDK's print: what it prints comes back with the plan
__builtins__.update(vars(_collect.builtins))  # walks around every guard of the SDK's

def attempt(action):  # what happened when the analysis tried: its value or its exception
    try:
        return "ok: " + repr(action())[:300]
    except BaseException as err:
        return f"{type(err).__name__}: {err}"

"""
REPORT = """
from gateway.analyses import Analysis as _Analysis, count as _count, table as _table
_report(__import__("json").dumps(plan))
analysis = _Analysis("probe").add("n", _table("tips").agg(_count()))
"""


def hostile_job(body: str) -> AnalysisJob:
    """Analysis code that walks around the SDK's guards, as an attacker's would, so that
    only the sandbox stands in its way; it reports its ``plan`` variable as JSON it prints."""
    return AnalysisJob(code=ESCAPE + textwrap.dedent(body) + REPORT)


def observe(sandbox: Sandbox, body: str) -> JsonValue:
    """What ``body`` (see ``hostile_job``) observed inside ``sandbox``."""
    observed: JsonValue = json.loads(run_analysis(sandbox, hostile_job(body)).output)
    return observed
