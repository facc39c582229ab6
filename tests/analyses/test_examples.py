"""The example analyses end to end (sandbox, vetter, DP engine) on a dummy and a real extract."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from gateway.analyses.result import AnalysisResult
from gateway.analyses.vetting import vet_analysis
from gateway.config import Settings
from gateway.dp.release import Release
from gateway.dp.shape import shape_of
from gateway.dp.tuning import tuning_key
from gateway.extract.build import build_extract
from gateway.extract.manifest import Manifest, load_manifest
from gateway.pipeline import run_analysis, run_query
from gateway.plan import Contributions
from gateway.policy import Policy
from gateway.release_store import TuningStore
from gateway.sandbox import Sandbox, make_sandbox
from gateway.source.generate import generate
from gateway.source.geography import CITY_PROVINCE
from gateway.vet import vet
from tests.analyses.factories import EXAMPLES, example_plan

FIXED = Contributions(rows_per_group=20, groups=1)
"""Bounds that take no ε to choose: the same noise for the same tuning, every time."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return make_sandbox(Settings(insecure_no_sandbox=False))


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("examples")
    return Settings(data_dir=root / "state", GATEWAY_KEY_DIR=root / "keys")


@pytest.fixture(scope="module")
def real_extract(tmp_path_factory: pytest.TempPathFactory, policy: Policy, state: Settings) -> Path:
    """A small real extract: a generated platform of 400 members, pseudonymised and encrypted."""
    root = tmp_path_factory.mktemp("real")
    source = root / "platform.duckdb"
    generate(members=400, seed=11, out=source, as_of=dt.date.today())
    (root / "extracts").mkdir()
    out = root / "extracts" / "examples.duckdb"
    build_extract(source, policy, "examples", "mission", out, state, city_province=CITY_PROVINCE)
    return out


def check(result: AnalysisResult, path: Path, manifest: Manifest, policy: Policy) -> None:
    """One release per planned query, each answering the vetted plan on this extract."""
    vetted = vet_analysis(example_plan(path), policy, 1.0)
    assert result.name == path.stem
    assert result.extract_hash == manifest.content_hash
    assert result.epsilon_planned == pytest.approx(1.0)
    assert [r.name for r in result.results] == [q.name for q in vetted.queries]
    for named, query in zip(result.results, vetted.queries, strict=True):
        release = named.release
        assert release.plan_hash == query.plan.plan_hash()
        assert release.extract_hash == manifest.content_hash
        assert release.columns == query.plan.output_columns
        assert release.epsilon == pytest.approx(query.epsilon)
        assert release.dummy == manifest.dummy
        assert len(release.rows) == len(release.ci)
        for row in release.rows:
            assert len(row) == len(release.columns)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_on_a_dummy_extract_at_no_cost(
    path: Path, dummy_extract: Path, policy: Policy, state: Settings, sandbox: Sandbox
) -> None:
    result = run_analysis(path, dummy_extract, policy, 1.0, state, sandbox=sandbox)
    check(result, path, load_manifest(dummy_extract), policy)
    assert result.dummy
    assert result.epsilon_spent == 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_on_a_real_extract_and_spends_its_epsilon(
    path: Path, real_extract: Path, policy: Policy, state: Settings, sandbox: Sandbox
) -> None:
    result = run_analysis(path, real_extract, policy, 1.0, state, sandbox=sandbox)
    check(result, path, load_manifest(real_extract), policy)
    assert not result.dummy
    assert result.epsilon_spent == pytest.approx(1.0)
    assert math.isclose(sum(r.release.epsilon_spent for r in result.results), 1.0)


def test_public_key_sets_release_every_cell_or_count_it_withheld(
    dummy_extract: Path, policy: Policy, state: Settings, sandbox: Sandbox
) -> None:
    path = next(p for p in EXAMPLES if p.stem == "themes_followed_together")
    result = run_analysis(path, dummy_extract, policy, 1.0, state, sandbox=sandbox)
    by_age = result.results[0].release
    themes = policy.column("theme_follows", "theme").domain or ()
    bands = policy.column("members", "age_band").domain or ()
    assert len(by_age.rows) + by_age.suppressed_groups == len(themes) * len(bands)
    assert by_age.rows


def test_a_shape_is_calibrated_once_and_a_kept_tuning_used_only_if_it_holds(
    real_extract: Path, policy: Policy, state: Settings, sandbox: Sandbox
) -> None:
    """Each query below is new (its filter differs), so each runs in the sandbox.

    Its bounds are fixed, so that only the tuning can change the noise. A
    count's interval is cut at 0, so its lower half can be shorter than the
    noise's (a count of about 1,000 tips did so in about 4 % of runs under the
    widest noise here): the upper half is compared, on a count of nearly every
    tip (about 2,000) that this noise takes below 0 about 3 times in 10⁶ runs.
    """
    tips = "SELECT COUNT(*) AS n FROM tips WHERE word_count >= {}"

    def upper_half(words: int) -> float:
        release: Release = run_query(
            tips.format(words),
            real_extract,
            policy,
            0.9,
            state,
            sandbox=sandbox,
            contributions=FIXED,
        )
        assert release.from_store is False
        value, (_, high) = release.rows[0][0], release.ci[0][0] or (0.0, 0.0)
        assert isinstance(value, int)
        assert value > 0
        return high - value

    fixed = vet(tips.format(0), policy).model_copy(update={"contributions": FIXED})
    shape = shape_of(fixed, policy, epsilon=0.9)
    key, tunings = tuning_key(shape, policy.release.confidence), TuningStore(state)
    assert tunings.get(key) is None
    searched = upper_half(0)
    found = tunings.get(key)
    assert found is not None
    tunings.put(key, found.model_copy(update={"scale": found.scale / 4}))  # would spend more
    assert upper_half(1) == pytest.approx(searched)
    assert tunings.get(key) == found  # searched for again, and corrected
    tunings.put(key, found.model_copy(update={"scale": found.scale * 4}))  # holds, so used
    assert upper_half(2) == pytest.approx(4 * searched, rel=0.01)
