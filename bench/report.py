"""What the benchmarks' reports share: the machine they ran on, and their section of the doc."""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
from collections.abc import Callable
from pathlib import Path

import duckdb

import gateway

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


def compile_gateway() -> None:
    """Compile the package's bytecode, as an installed package has it.

    Without it (``PYTHONDONTWRITEBYTECODE`` set, and the repository keeps no
    bytecode) every measured process would compile the gateway's source again,
    about 0.1 s of CPU that no installed command pays.
    """
    compileall.compile_dir(Path(gateway.__file__).parent, quiet=1)


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


def cpu_table(spent: dict[str, float]) -> list[str]:
    """CPU seconds per command and each one's ratio to the first, ``python -c pass``."""
    bare = next(iter(spent.values()))
    return [
        "| command | CPU s | × python -c pass |",
        "|---|---:|---:|",
        *(f"| {name} | {s:.3f} | {s / bare:.0f} |" for name, s in spent.items()),
    ]


def start_up_main(
    doc: str | None,
    heading: str,
    steady: str,
    measured: Callable[[int], Callable[[str], str]],
    starts: int,
) -> None:
    """A start-up benchmark's command line: ``--starts N`` (default ``starts``), ``--no-write``.

    ``measured(starts)`` measures, and gives the section for a note on the machine.
    """
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--starts", type=int, default=starts)
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args()
    load_before = os.getloadavg()
    section = measured(args.starts)
    text = section(machine(load_before, os.getloadavg(), steady))
    print(text)
    if not args.no_write:
        write_section(heading, text)
