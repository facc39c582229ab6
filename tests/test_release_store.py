"""The release store: a repeat is answered from it, charged nothing, and identical."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest
from sqlalchemy import inspect, text

from gateway.config import Settings
from gateway.db import engine_for
from gateway.dp import release as release_module
from gateway.dp.tuning import Noise, Tuning
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.release_store import ReleaseStore, TuningStore, question
from tests.dp import factories as f

PLAN = f.plan(
    "tips",
    f.count(),
    f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
    group_by=[f.by("tips", "theme")],
)


@pytest.fixture
def health_policy() -> Policy:
    return f.policy()


@pytest.fixture
def settings(backend: Settings) -> Settings:
    """Each test on SQLite and on PostgreSQL: the store is read and written with Core."""
    return backend


@pytest.fixture
def tips_extract(health_policy: Policy) -> duckdb.DuckDBPyConnection:
    con = f.extract(health_policy)
    f.tips_per_theme(con, {"sleep": 500, "stress": 300})
    return con


def _kept(
    store: ReleaseStore, policy: Policy, con: duckdb.DuckDBPyConnection, epsilon: float = 1.0
) -> str:
    """Release ``PLAN`` over ``con`` and keep it, as the pipeline does; its question."""
    asked = question(PLAN, policy, epsilon, "e")
    store.put(asked, f.released(PLAN, policy, con, epsilon=epsilon, extract_hash="e"))
    return asked


def test_a_repeat_returns_the_stored_release_without_spending(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    store = ReleaseStore(settings)
    asked = question(PLAN, health_policy, 1.0, "e")
    assert store.get(asked) is None
    first = f.released(PLAN, health_policy, tips_extract, epsilon=1.0, extract_hash="e")
    assert store.put(asked, first) == first
    again = store.get(asked)
    assert again is not None
    assert again.from_store
    assert (again.epsilon_spent, again.rho_spent) == (0.0, 0.0 if first.rho is not None else None)
    assert (again.epsilon, again.rho, again.delta) == (first.epsilon, first.rho, first.delta)
    assert (again.rows, again.ci, again.created_at) == (first.rows, first.ci, first.created_at)
    assert not first.from_store
    assert first.epsilon_spent == 1.0


@pytest.mark.parametrize(("epsilon", "extract_hash"), [(0.5, "e"), (1.0, "other")])
def test_another_epsilon_or_extract_is_another_question(
    health_policy: Policy,
    tips_extract: duckdb.DuckDBPyConnection,
    settings: Settings,
    epsilon: float,
    extract_hash: str,
) -> None:
    store = ReleaseStore(settings)
    _kept(store, health_policy, tips_extract)
    assert store.get(question(PLAN, health_policy, epsilon, extract_hash)) is None


@pytest.mark.parametrize(
    "change",
    [
        {"release": {"min_group_members": 5}},
        {"budget": {"delta": 1e-8}},
        {"release": {"confidence": 0.9}},
        {"tables": {"tips": {"contributions": {"max_rows_per_group": 5, "max_groups": 3}}}},
    ],
    ids=["min_group_members", "delta", "confidence", "bounds"],
)
def test_a_release_made_under_another_policy_is_not_served_again(
    health_policy: Policy,
    tips_extract: duckdb.DuckDBPyConnection,
    settings: Settings,
    change: dict[str, dict[str, object]],
) -> None:
    store = ReleaseStore(settings)
    first = store.get(_kept(store, health_policy, tips_extract))
    assert first is not None
    other = _changed(health_policy, change)
    assert store.get(question(PLAN, other, 1.0, "e")) is None
    again = store.get(_kept(store, other, tips_extract))
    assert again is not None  # the same question under the new policy is answered from the store
    assert again.policy_hash != first.policy_hash
    assert (again.delta, again.confidence) == (other.budget.delta, other.release.confidence)


def test_a_release_made_by_another_engine_is_not_served_again(
    health_policy: Policy,
    tips_extract: duckdb.DuckDBPyConnection,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ReleaseStore(settings)
    _kept(store, health_policy, tips_extract)
    monkeypatch.setattr(release_module, "ENGINE_FORMAT", release_module.ENGINE_FORMAT + 1)
    release_module.engine_version.cache_clear()
    try:
        assert store.get(question(PLAN, health_policy, 1.0, "e")) is None
    finally:
        release_module.engine_version.cache_clear()


def _changed(policy: Policy, change: dict[str, dict[str, object]]) -> Policy:
    data = policy.model_dump()
    for section, values in change.items():
        if section == "tables":
            for table, update in values.items():
                data["tables"][table].update(update)  # type: ignore[union-attr]
        else:
            data[section].update(values)
    return Policy.model_validate(data)


def test_only_the_release_is_stored(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    release = f.released(PLAN, health_policy, tips_extract, epsilon=1.0, extract_hash="e")
    ReleaseStore(settings).put(question(PLAN, health_policy, 1.0, "e"), release)
    engine = engine_for(settings.metadata_url)
    columns = {c["name"] for c in inspect(engine).get_columns("dp_releases")}
    assert columns == {
        "key",
        "plan_hash",
        "extract_hash",
        "epsilon",
        "policy_hash",
        "engine",
        "created_at",
        "release",
    }
    with engine.connect() as con:
        (stored,) = con.execute(text("SELECT release FROM dp_releases")).scalars()
    assert json.loads(stored) == release.model_dump(mode="json")


def test_a_release_stored_meanwhile_wins(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection, settings: Settings
) -> None:
    store = ReleaseStore(settings)
    first = f.released(PLAN, health_policy, tips_extract, epsilon=1.0, extract_hash="e")
    second = f.released(PLAN, health_policy, tips_extract, epsilon=1.0, extract_hash="e")
    asked = question(PLAN, health_policy, 1.0, "e")
    assert store.put(asked, first) == first
    kept = store.put(asked, second)
    assert kept.from_store
    assert (kept.rows, kept.created_at) == (first.rows, first.created_at)


def test_a_kept_tuning_is_read_back_replaced_and_survives_a_race(backend: Settings) -> None:
    """Two workers may keep a tuning for one shape at once; neither fails."""
    tunings = TuningStore(backend)
    first = Tuning(noise=Noise.GAUSSIAN, scale=17.5, threshold=209)
    assert tunings.get("k") is None
    tunings.put("k", first)
    assert tunings.get("k") == first
    better = Tuning(noise=Noise.LAPLACE, scale=3.0)
    tunings.put("k", better)
    assert tunings.get("k") == better
    keys = [f"new-{i}" for i in range(5)]
    with ThreadPoolExecutor(8) as pool:
        for key in keys:
            list(pool.map(tunings.put, [key] * 8, [first] * 8))
    assert all(tunings.get(key) == first for key in keys)
    with engine_for(backend.metadata_url).connect() as con:
        assert con.execute(text("SELECT count(*) FROM dp_tunings")).scalar_one() == 1 + len(keys)


def test_a_shapes_searches_are_kept_beside_its_tuning_and_added_to(backend: Settings) -> None:
    """What a shape's jobs searched for grows with each job; its own tuning is left alone."""
    tunings = TuningStore(backend)
    shape_key = "a" * 64
    laplace = Tuning(noise=Noise.LAPLACE, scale=3.0)
    gaussian = Tuning(noise=Noise.GAUSSIAN, scale=17.5, threshold=209)
    assert tunings.searches(shape_key) == {}
    tunings.put(shape_key, laplace)
    tunings.keep_searches(shape_key, {"s1/laplace": laplace})
    tunings.keep_searches(shape_key, {"s2/gaussian": gaussian, "s1/laplace": laplace})
    assert tunings.searches(shape_key) == {"s1/laplace": laplace, "s2/gaussian": gaussian}
    assert tunings.get(shape_key) == laplace
    assert tunings.searches("b" * 64) == {}  # another shape's are its own
