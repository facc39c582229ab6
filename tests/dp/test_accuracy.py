"""Predictions kept in the data directory: read back, never trusted blindly, never a crash."""

from __future__ import annotations

import pytest

from gateway.config import Settings
from gateway.dp import predict_accuracy
from gateway.dp.accuracy import KeptAccuracy, KeptPrediction, kept_accuracy, shape_key
from gateway.errors import EpsilonError
from gateway.plan import ColumnRef, Compare
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from tests.dp import factories as f

PLAN = f.plan(
    "tips",
    f.count(),
    f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
    group_by=[f.by("tips", "theme")],
)


def test_a_shape_is_calibrated_once_then_read_from_its_file(
    fixed_policy: Policy, settings: Settings
) -> None:
    kept = KeptAccuracy(settings)
    assert kept_accuracy(PLAN, fixed_policy, 1.0, kept) == predict_accuracy(PLAN, fixed_policy, 1.0)
    key = shape_key(PLAN, fixed_policy, 1.0)
    assert [p.name for p in kept.folder.iterdir()] == [f"{key}.json"]  # and no partial file
    planted = KeptPrediction(key=key, predicted={"n": 1e9})
    (kept.folder / f"{key}.json").write_text(planted.model_dump_json())
    assert kept_accuracy(PLAN, fixed_policy, 1.0, kept) == {"n": 1e9}  # read, not recomputed


def test_the_key_is_the_shape_the_filter_left_out(
    health_policy: Policy, fixed_policy: Policy
) -> None:
    key = shape_key(PLAN, fixed_policy, 1.0)
    where = Compare(column=ColumnRef(table="tips", column="helpful_votes"), op=">", value=3)
    assert shape_key(PLAN.model_copy(update={"where": where}), fixed_policy, 1.0) == key
    assert shape_key(PLAN, fixed_policy, 0.5) != key
    assert shape_key(PLAN, health_policy, 1.0) != key
    fewer = f.plan("tips", f.count(), group_by=[f.by("tips", "theme")])
    assert shape_key(fewer, fixed_policy, 1.0) != key


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe\x00",
        b'{"key": "another shape", "predicted": {"n": 1.0}}',
        b'{"key": "KEY", "predicted": {"n": -1.0}}',
        b'{"key": "KEY", "predicted": {"n": "NaN"}}',
        b'{"key": "KEY", "predicted": {"n": 1.0}, "trust": "me"}',
        b'{"key": "KEY"}',
    ],
    ids=["garbage", "binary", "foreign", "negative", "nan", "extra", "partial"],
)
def test_a_corrupt_or_foreign_file_is_ignored_and_replaced(
    fixed_policy: Policy, settings: Settings, content: bytes
) -> None:
    kept = KeptAccuracy(settings)
    key = shape_key(PLAN, fixed_policy, 1.0)
    kept.folder.mkdir(parents=True)
    path = kept.folder / f"{key}.json"
    path.write_bytes(content.replace(b"KEY", key.encode()))
    assert kept.get(key) is None
    expected = predict_accuracy(PLAN, fixed_policy, 1.0)
    assert kept_accuracy(PLAN, fixed_policy, 1.0, kept) == expected
    assert kept.get(key) == expected


def test_a_data_directory_that_cannot_be_written_costs_only_a_calibration(
    fixed_policy: Policy, settings: Settings
) -> None:
    settings.data_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.data_dir.write_text("a file where the directory should be")
    kept = KeptAccuracy(settings)
    expected = predict_accuracy(PLAN, fixed_policy, 1.0)
    assert kept_accuracy(PLAN, fixed_policy, 1.0, kept) == expected
    kept.folder = settings.data_dir.parent / "blocked"
    (kept.folder / f"{shape_key(PLAN, fixed_policy, 1.0)}.json").mkdir(parents=True)
    assert kept_accuracy(PLAN, fixed_policy, 1.0, kept) == expected
    assert [p.suffix for p in kept.folder.iterdir()] == [".json"]  # the partial file is gone


def test_a_refused_epsilon_is_refused_before_the_kept_file_is_read(
    fixed_policy: Policy, settings: Settings
) -> None:
    kept = KeptAccuracy(settings)
    too_much = fixed_policy.budget.per_query_epsilon_cap * 2
    with pytest.raises(EpsilonError):
        kept_accuracy(PLAN, fixed_policy, too_much, kept)
    assert not kept.folder.exists()
