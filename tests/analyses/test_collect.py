"""Running an analysis file yields its plan, or one clear AnalysisError; never anything else.

These exercise the second layer of defence, inside the sandbox process. The
sandbox itself (no network, no files, limits, timeout) is exercised end to end
in test_pipeline.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.analyses.collect import MAX_OUTPUT, collect
from gateway.errors import AnalysisError, SandboxError
from gateway.policy import Policy
from gateway.sandbox.jobs import AnalysisOutput
from gateway.sandbox.protocol import read_output
from tests.analyses.factories import EXAMPLES

GOOD = """
from gateway.analyses import Analysis, col, count, table

analysis = Analysis("ok")
analysis.add("n", table("tips").group_by("theme").agg(count()))
print(f"built {len(analysis.plan().queries)} query")
"""


def test_a_good_file_gives_its_plan_and_what_it_printed() -> None:
    collected = collect(GOOD)
    assert collected.plan.name == "ok"
    assert [q.name for q in collected.plan.queries] == ["n"]
    assert collected.output == "built 1 query\n"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_collect_under_the_guards(path: Path) -> None:
    plan = collect(path.read_text(encoding="utf-8"), path.name).plan
    assert plan.name == path.stem
    assert plan.total_share == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("code", "error_code", "message"),
    [
        (
            "x = 1\nraise RuntimeError('boom')",
            "analysis_raised",
            "RuntimeError: boom (analysis.py, line 2)",
        ),
        ("import os\nos.system('id')", "analysis_forbidden", "import of 'os'"),
        ("import socket", "analysis_forbidden", "import of 'socket'"),
        ("import ctypes", "analysis_forbidden", "import of 'ctypes'"),
        ("from subprocess import run", "analysis_forbidden", "import of 'subprocess'"),
        ("import importlib", "analysis_forbidden", "import of 'importlib'"),
        (
            "import gateway.extract.reader",
            "analysis_forbidden",
            "import of 'gateway.extract.reader'",
        ),
        ("__import__('os')", "analysis_forbidden", "import of 'os'"),
        ("open('/etc/passwd').read()", "analysis_forbidden", "open() is not available"),
        ("exec('import os')", "analysis_forbidden", "exec() is not available"),
        ("eval('1')", "analysis_forbidden", "eval() is not available"),
        ("print('x' * 10_000_000)", "analysis_output_too_large", "KiB"),
        ("while True:\n    print('spam')", "analysis_output_too_large", "KiB"),
        ("analysis = 42", "analysis_not_a_plan", "int, not an Analysis"),
        ("analysis = {'name': 'x', 'queries': []}", "analysis_not_a_plan", "dict"),
        ("x = 1", "analysis_missing", "defines no `analysis`"),
        ("def broken(:\n  pass", "analysis_syntax", "line 1"),
        ("raise SystemExit(3)", "analysis_raised", "SystemExit"),
        ("def f(): return f()\nf()", "analysis_raised", "RecursionError"),
        (
            "from gateway.analyses import Analysis, col, count, table\n"
            "analysis = Analysis('x')\n"
            "if col('helpful_votes') > 10:\n"
            "    analysis.add('many', table('tips').agg(count()))\n",
            "analysis_raised",
            "without data",
        ),
        (
            "from gateway.analyses import Analysis, count, table\n"
            "analysis = Analysis('x')\n"
            "analysis.add('a', table('tips').agg(count()), share=0.8)\n"
            "analysis.add('b', table('tips').agg(count()), share=0.8)\n",
            "analysis_raised",
            "line 4",
        ),
    ],
)
def test_bad_files_give_one_clear_error(code: str, error_code: str, message: str) -> None:
    with pytest.raises(AnalysisError) as err:
        collect(code)
    assert err.value.code == error_code
    assert message in err.value.message
    assert err.value.hint
    assert len(err.value.message) <= 2100


def test_error_messages_are_capped() -> None:
    with pytest.raises(AnalysisError) as err:
        collect("raise ValueError('x' * 1_000_000)")
    assert len(err.value.message) < 2100


def test_output_cap_is_exact() -> None:
    quiet = GOOD.replace("print(", "len(")
    fits = f"print('x' * {MAX_OUTPUT - 1})\n" + quiet  # with its newline: exactly the cap
    assert len(collect(fits).output) == MAX_OUTPUT
    with pytest.raises(AnalysisError):
        collect(f"print('x' * {MAX_OUTPUT})\n" + quiet)


def test_what_comes_back_is_validated_as_a_plan() -> None:
    good = AnalysisOutput(collected=collect(GOOD))
    assert read_output(good.model_dump_json()) == good
    for collected in [{"plan": {"name": "x"}}, [], {"plan": None, "exec": "os"}]:
        with pytest.raises(AnalysisError) as err:
            read_output(json.dumps({"kind": "analysis", "collected": collected}))
        assert err.value.code == "analysis_not_a_plan"
    with pytest.raises(SandboxError) as malformed:
        read_output("not json")
    assert malformed.value.code == "malformed_result"


def test_a_memory_bomb_is_left_to_the_sandbox() -> None:
    with pytest.raises(MemoryError):
        collect("raise MemoryError")


def test_examples_are_the_policys_templates(policy: Policy) -> None:
    assert [p.stem for p in EXAMPLES] == sorted(policy.auto_approval.templates)
    for path in EXAMPLES:
        module_doc = path.read_text().split('"""')[1]
        assert len(module_doc.split()) > 60, f"{path.name} needs a docstring that explains it"


def test_the_sdk_loads_nothing_heavy_inside_the_sandbox() -> None:
    heavy = ["sqlglot", "duckdb", "opendp", "polars", "sqlalchemy", "numpy"]
    probe = (
        f"import sys, gateway.analyses.collect\nprint([m for m in {heavy!r} if m in sys.modules])"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[]"
