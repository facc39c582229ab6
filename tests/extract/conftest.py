"""Named configurations for extract tests: a private key dir, the policy, a story source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.extract.build import build_extract
from gateway.extract.manifest import Manifest
from gateway.policy import Policy, load_policy
from tests.extract.factories import BUILT_AT, CITY_PROVINCE, make_source

POLICY = Path(__file__).parents[2] / "policies" / "health_thing.yaml"
Build = Callable[..., Manifest]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state", GATEWAY_KEY_DIR=tmp_path / "keys")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "platform.duckdb")


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    out = tmp_path / "extracts"
    out.mkdir()
    return out


@pytest.fixture
def build(source: Path, policy: Policy, settings: Settings, outdir: Path) -> Build:
    """Build an extract of the story source; keyword arguments override the defaults."""

    def _build(**overrides: object) -> Manifest:
        args: dict[str, object] = {
            "source": source,
            "policy": policy,
            "project": "sleep-study",
            "purpose": "mission",
            "out": outdir / "e.duckdb",
            "settings": settings,
            "now": BUILT_AT,
            "city_province": CITY_PROVINCE,
        }
        args.update(overrides)
        return build_extract(**args)  # type: ignore[arg-type]

    return _build
