"""Read a policy file, or say precisely which field is wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

try:  # libyaml's parser, with the same safe constructor: a policy is read on every command
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

from gateway.errors import PolicyError, field_message
from gateway.policy.model import Policy

GUIDE = "docs/policy.md"
"""Where every policy field is explained, one section per part of the policy."""


SECTIONS = (
    "purposes",
    "budget",
    "limits",
    "release",
    "bounding",
    "review",
    "auto_approval",
    "extract",
)
"""The parts of a policy with a section of their own in the guide."""


def section(loc: tuple[int | str, ...]) -> str:
    """The section of the guide that explains the field at ``loc`` (a pydantic error's path).

    A table's columns and their ``derive`` have sections of their own; a top-level
    field that is not a part of its own is explained under "Top level".
    """
    parts = [str(p) for p in loc]
    if parts[:1] == ["tables"]:
        for name in ("derive", "contributions", "columns"):
            if name in parts:
                return name
        return "tables"
    if parts and parts[0] in SECTIONS:
        return parts[0]
    return "top-level"


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    except FileNotFoundError:
        raise PolicyError(
            "policy_not_found",
            f"policy file {path} does not exist",
            hint="pass --policy policies/health_thing.yaml",
        ) from None
    except yaml.YAMLError as exc:
        raise PolicyError(
            "policy_not_yaml",
            f"{path} is not valid YAML: {exc}",
            hint=f"see {GUIDE} for the policy format",
        ) from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PolicyError(
            "policy_invalid",
            f"{path}: {field_message(first)} ({exc.error_count()} problem(s) in all)",
            hint=f"see {GUIDE}#{section(first['loc'])}",
        ) from None


def policy_hash(policy: Policy) -> str:
    """Content hash of the validated policy; stable across YAML formatting."""
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
