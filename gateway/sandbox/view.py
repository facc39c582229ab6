"""What a sandboxed job can see of the filesystem: an allowlist, nothing else.

Read-only: the system libraries (``/usr`` and the merged-usr links), the
dynamic loader's cache, the Python runtime and its site-packages, the gateway
package, and for a query job the one extract file. Writable: only a private,
size-limited tmpfs at ``/tmp``. Everything else (the data directory with the
metadata database, keys, audit log and other extracts, ``/home``, ``/root``,
``/etc``) is simply absent. ``/proc`` belongs to the job's own pid namespace.
"""

from __future__ import annotations

import site
import sys
from dataclasses import dataclass
from pathlib import Path

import gateway
from gateway.sandbox.jobs import EXTRACT_INSIDE, SCRATCH_INSIDE, Job, QueryJob

PACKAGE_DIR = Path(gateway.__file__).resolve().parent
"""The gateway package as the trusted side imports it; the sandbox sees it at the same path."""

_SYSTEM_TOP = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache",)


@dataclass(frozen=True)
class Bind:
    source: Path
    target: Path


@dataclass(frozen=True)
class Link:
    target: str
    path: Path


@dataclass(frozen=True)
class View:
    """Mounts in order; later binds may sit inside earlier ones."""

    binds: tuple[Bind, ...]
    links: tuple[Link, ...]
    scratch: Path
    scratch_bytes: int


def python_roots() -> list[Path]:
    """Directories the interpreter needs: its prefix, the venv and site-packages."""
    roots = [Path(sys.base_prefix), Path(sys.prefix), *map(Path, site.getsitepackages())]
    unique: list[Path] = []
    for root in (r.resolve() for r in roots):
        if root.is_dir() and not any(root.is_relative_to(u) for u in unique):
            unique = [u for u in unique if not u.is_relative_to(root)] + [root]
    return unique


def runtime_view(package_source: Path) -> tuple[list[Bind], list[Link]]:
    """Binds and links for the interpreter and the gateway package."""
    binds = [Bind(Path("/usr"), Path("/usr"))]
    links: list[Link] = []
    for top in map(Path, _SYSTEM_TOP):
        if top.is_symlink():
            links.append(Link(str(top.readlink()), top))
        elif top.is_dir():
            binds.append(Bind(top, top))
    binds += [Bind(Path(f), Path(f)) for f in _SYSTEM_FILES if Path(f).is_file()]
    binds += [Bind(root, root) for root in python_roots() if not root.is_relative_to("/usr")]
    binds.append(Bind(package_source.resolve(), PACKAGE_DIR))
    return binds, links


def extract_of(job: Job) -> Path | None:
    return job.extract if isinstance(job, QueryJob) else None


def view_for(extract: Path | None, package_source: Path, scratch_bytes: int) -> View:
    """The runtime, plus the one extract of a query job at ``EXTRACT_INSIDE``."""
    binds, links = runtime_view(package_source)
    if extract is not None:
        binds.append(Bind(extract.resolve(strict=True), Path(EXTRACT_INSIDE)))
    return View(tuple(binds), tuple(links), Path(SCRATCH_INSIDE), scratch_bytes)
