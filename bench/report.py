"""What the benchmarks' reports share: the machine they ran on, and their section of the doc."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import duckdb

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine(load_before: tuple[float, ...], load_after: tuple[float, ...], steady: str) -> str:
    """The machine and its load around the run; ``steady`` names what varies less than time."""
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}; 1-minute load average {load_before[0]:.1f} before "
        f"and {load_after[0]:.1f} after the run. Other work on the machine makes absolute "
        f"times vary from run to run; {steady}"
    )


def write_section(heading: str, text: str) -> None:
    """Replace (or append) the section under ``heading``, leaving the others untouched."""
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    new = (
        pattern.sub(lambda _: text + "\n", old)
        if pattern.search(old)
        else old.rstrip() + "\n\n" + text
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(new.rstrip() + "\n", encoding="utf-8")
