"""Builders for vetting tests: the corpora and policies varied from the real one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.policy import Policy
from gateway.policy.load import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policies" / "health_thing.yaml"
FIXTURES = Path(__file__).parent / "fixtures"

_HEADER = re.compile(r"^-- (accept|reject)(?: ([a-z_]+(?:,[a-z_]+)*))?: (.+)$")


@dataclass(frozen=True)
class Case:
    """One query of a corpus, with the verdict (and codes) it must get."""

    accept: bool
    codes: tuple[str, ...]
    title: str
    sql: str
    line: int


def load_corpus(name: str) -> list[Case]:
    """Cases from ``fixtures/<name>``: a header line, then the query up to the next header."""
    cases: list[Case] = []
    header: tuple[re.Match[str], int] | None = None
    body: list[str] = []

    def close() -> None:
        if header is None:
            return
        found, line = header
        codes = tuple(found.group(2).split(",")) if found.group(2) else ()
        sql = "\n".join(body).strip("\n")
        cases.append(Case(found.group(1) == "accept", codes, found.group(3), sql, line))

    for number, text in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines(), 1):
        found = _HEADER.match(text)
        if found:
            close()
            header, body = (found, number), []
        elif header is not None:
            body.append(text)
    close()
    return cases


def policy_with(**changes: Any) -> Policy:
    """The real policy with top-level sections replaced or merged (dicts merge one level)."""
    raw = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return Policy.model_validate(raw)


def health_thing() -> Policy:
    return load_policy(POLICY_PATH)
