"""docs/architecture.md names every part of the package, in the order imports allow."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text()
PACKAGE = ROOT / "gateway"


def _parts() -> set[str]:
    """Every top-level module and subpackage of ``gateway``, as dotted names."""
    modules = {f"gateway.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    packages = {f"gateway.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    return modules | packages


def _exists(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_module_and_subpackage_is_named() -> None:
    named = set(re.findall(r"`(gateway\.[a-z_.]+)`", PAGE))
    assert sorted(_parts() - named) == []


def test_every_name_on_the_page_is_in_the_tree() -> None:
    named = set(re.findall(r"`(gateway\.[a-z_.]+)`", PAGE))
    assert sorted(name for name in named if not _exists(name)) == []


def test_the_layers_are_numbered_as_the_import_contract_orders_them() -> None:
    """The page's numbered headings, lowest first, are the import contract read upwards."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers" and "containers" not in c
    ]
    layers = [
        (str(number), name.strip(" ()"))
        for number, layer in enumerate(reversed(contract["layers"]), start=1)
        for name in layer.split("|")
    ]
    headings = re.findall(r"^### (\d+)\. `(gateway\.[a-z_]+)`$", PAGE, flags=re.M)
    assert headings == layers
