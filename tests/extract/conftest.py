"""Named configurations for extract tests: a private key dir, the policy, a story source,
and the two story extracts (mission, external research) built once per session."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.extract.build import build_extract
from gateway.extract.keys import pseudonym_key
from gateway.extract.manifest import Manifest
from gateway.policy import Policy, load_policy
from tests.extract.factories import BUILT_AT, CITY_PROVINCE, Rows, by_name, make_source, read_tables

POLICY = Path(__file__).parents[2] / "policies" / "health_thing.yaml"
PROJECT = "sleep-study"

Build = Callable[..., Manifest]


@dataclass(frozen=True)
class Built:
    """A story extract, decrypted once for reading."""

    path: Path
    manifest: Manifest
    settings: Settings
    tables: dict[str, Rows]

    def pid(self, name: str) -> str:
        return pseudonym(self.settings, PROJECT, "account", by_name(name).account_id)

    def rows_of(self, name: str) -> dict[str, int]:
        """How many rows of each table belong to the story member ``name``."""
        pid = self.pid(name)
        return {t: sum(r["member_pid"] == pid for r in rows) for t, rows in self.tables.items()}


def pseudonym(settings: Settings, project: str, namespace: str, value: int) -> str:
    """The pseudonym the builder must give, computed independently with ``hmac``."""
    key = pseudonym_key(project, settings)
    return hmac.new(key, f"{namespace}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def make_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "state", GATEWAY_KEY_DIR=root / "keys")


def build_with(source: Path, policy: Policy, settings: Settings, out: Path) -> Build:
    def _build(**overrides: object) -> Manifest:
        args: dict[str, object] = {
            "source": source,
            "policy": policy,
            "project": PROJECT,
            "purpose": "mission",
            "out": out,
            "settings": settings,
            "now": BUILT_AT,
            "city_province": CITY_PROVINCE,
        }
        args.update(overrides)
        return build_extract(**args)  # type: ignore[arg-type]

    return _build


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture(scope="session")
def story_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("story") / "platform.duckdb")


@pytest.fixture(scope="session")
def story_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("built")
    (root / "extracts").mkdir()
    return root


def _built(root: Path, source: Path, policy: Policy, purpose: str) -> Built:
    settings = make_settings(root)
    path = root / "extracts" / f"{purpose}.duckdb"
    manifest = build_with(source, policy, settings, path)(purpose=purpose)
    return Built(path, manifest, settings, read_tables(path, manifest, settings))


@pytest.fixture(scope="session")
def mission(story_root: Path, story_source: Path, policy: Policy) -> Built:
    return _built(story_root, story_source, policy, "mission")


@pytest.fixture(scope="session")
def external(story_root: Path, story_source: Path, policy: Policy) -> Built:
    return _built(story_root, story_source, policy, "external_research")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def source(story_source: Path, tmp_path: Path) -> Path:
    """A private copy of the story source, free to be changed by the test."""
    return Path(shutil.copy(story_source, tmp_path / "platform.duckdb"))


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    out = tmp_path / "extracts"
    out.mkdir()
    return out


@pytest.fixture
def build(source: Path, policy: Policy, settings: Settings, outdir: Path) -> Build:
    """Build an extract of a private story source; keyword arguments override the defaults."""
    return build_with(source, policy, settings, outdir / "e.duckdb")
