"""Run a researcher's analysis file and take the plan it builds.

This runs inside the sandbox, with no extract mounted: the code can only
describe queries. The sandbox is the security boundary; the guards here
(an import allow-list, no file or ``exec`` builtins, capped output) are a
second layer whose job is to turn a mistake into a clear message naming what
to change. Every failure is an ``AnalysisError``; a plan comes back only if
the file ran to the end and left an ``Analysis`` named ``analysis``.

``collect`` is the one entry point: the sandbox's analysis job hands it the
researcher's code as data and sends back what it returns. Running out of
memory is left to the sandbox, which reports it as ``memory_limit`` like any
other limit.
"""

from __future__ import annotations

import builtins
import io
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict

from gateway.analyses.builder import Analysis
from gateway.analyses.plan import AnalysisPlan
from gateway.errors import AnalysisError, Issue

ALLOWED_IMPORTS = frozenset(
    {
        "gateway.analyses",
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "enum",
        "functools",
        "itertools",
        "math",
        "typing",
    }
)
"""What an analysis may import: the SDK and pure helpers. No I/O, no data."""

FORBIDDEN_BUILTINS = ("open", "exec", "eval", "compile", "input", "breakpoint", "exit", "quit")
MAX_CODE_BYTES = 512 * 1024
"""Largest analysis source, in bytes of UTF-8: an analysis only builds a plan."""
MAX_OUTPUT = 64 * 1024
"""Characters of ``print`` output kept; more is an error, not a silent cut."""
MAX_MESSAGE = 2000
PLAN_VARIABLE = "analysis"


class CollectedAnalysis(BaseModel):
    """What leaves the sandbox for an analysis job: the plan and what the code printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: AnalysisPlan
    output: str = ""


class _Refused(Exception):
    """The analysis asked for something an analysis may not do."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


class _Output(io.StringIO):
    def write(self, text: str) -> int:
        if self.tell() + len(text) > MAX_OUTPUT:
            raise _Refused(
                "analysis_output_too_large",
                f"the analysis printed more than {MAX_OUTPUT // 1024} KiB",
                "print less: an analysis has no data to show, only its plan",
            )
        return super().write(text)


def _guarded_import(
    name: str,
    globals_: Mapping[str, object] | None = None,
    locals_: Mapping[str, object] | None = None,
    fromlist: Sequence[str] = (),
    level: int = 0,
) -> object:
    allowed = level == 0 and any(
        name == module or name.startswith(module + ".") for module in ALLOWED_IMPORTS
    )
    if not allowed:
        raise _Refused(
            "analysis_forbidden",
            f"import of {name!r} is not allowed in an analysis",
            f"an analysis only builds a plan; it may import {', '.join(sorted(ALLOWED_IMPORTS))}",
        )
    return builtins.__import__(name, globals_, locals_, fromlist, level)


def _refuse(name: str) -> Callable[..., NoReturn]:
    def refused(*_args: object, **_kwargs: object) -> NoReturn:
        raise _Refused(
            "analysis_forbidden",
            f"{name}() is not available in an analysis",
            "an analysis runs without data or files and only builds a plan; remove the call",
        )

    return refused


def _builtins(output: _Output) -> dict[str, Any]:
    namespace = dict(vars(builtins))
    namespace.update({name: _refuse(name) for name in FORBIDDEN_BUILTINS})
    namespace["__import__"] = _guarded_import
    namespace["print"] = lambda *args, **kwargs: builtins.print(*args, **{**kwargs, "file": output})
    return namespace


def check_size(size: int, name: str) -> None:
    """Refuse an analysis source of ``size`` bytes that is larger than an analysis may be.

    The one rule, applied where code enters: a file read, an API request and
    the sandbox's analysis job (``gateway.sandbox.protocol.check_job``).
    """
    if size > MAX_CODE_BYTES:
        raise AnalysisError(
            "analysis_too_large",
            f"{name} is {size:,} bytes; an analysis may have at most {MAX_CODE_BYTES:,}",
            hint="an analysis only builds a plan; keep data and helpers out of it",
        )


def _line(tb: TracebackType | None, filename: str) -> int | None:
    """The analysis's own line the error came from (the innermost frame in its file)."""
    lines = [f.lineno for f in traceback.extract_tb(tb) if f.filename == filename]
    return lines[-1] if lines else None


def _located(
    code: str,
    message: str,
    hint: str | None,
    filename: str,
    line: int | None,
    column: int | None = None,
) -> AnalysisError:
    """An ``AnalysisError`` whose message names the line, with one issue pointing at it."""
    where = f" ({filename}, line {line})" if line is not None else f" ({filename})"
    issue = Issue(code=code, message=message, line=line, column=column, hint=hint)
    return AnalysisError(code, _short(f"{message}{where}"), hint=hint, issues=[issue])


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ..."


def collect(code: str, filename: str = "analysis.py") -> CollectedAnalysis:
    """Execute ``code`` without data and return the ``AnalysisPlan`` it leaves in ``analysis``."""
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as err:
        raise _located(
            "analysis_syntax",
            str(err.msg),
            "fix the Python syntax; `python -m py_compile` shows the same error",
            filename,
            err.lineno,
            err.offset,
        ) from None
    output = _Output()
    namespace: dict[str, Any] = {"__name__": "__analysis__", "__builtins__": _builtins(output)}
    try:
        exec(compiled, namespace)  # noqa: S102 - researcher code, inside the sandbox, no data
        found = namespace.get(PLAN_VARIABLE)
        plan = found.plan() if isinstance(found, Analysis) else found
    except _Refused as err:
        line = _line(err.__traceback__, filename)
        raise _located(err.code, str(err), err.hint, filename, line) from None
    except MemoryError:
        raise  # a limit of the sandbox's, reported by it
    except (Exception, SystemExit) as err:
        raise _located(
            "analysis_raised",
            f"{type(err).__name__}: {err}",
            "the analysis raised while building its plan; fix the line named above",
            filename,
            _line(err.__traceback__, filename),
        ) from None
    if plan is None:
        raise AnalysisError(
            "analysis_missing",
            f"{filename} defines no `{PLAN_VARIABLE}`",
            hint=f"build the plan as `{PLAN_VARIABLE} = Analysis('name')` and add queries to it",
        )
    if not isinstance(plan, AnalysisPlan):
        raise AnalysisError(
            "analysis_not_a_plan",
            f"`{PLAN_VARIABLE}` in {filename} is a {type(plan).__name__}, not an Analysis",
            hint=f"set `{PLAN_VARIABLE} = Analysis('name')` and add queries with .add(...)",
        )
    return CollectedAnalysis(plan=plan, output=output.getvalue())
