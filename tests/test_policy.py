"""The policy file is the contract every stage reads; it must load and refuse nonsense."""

from pathlib import Path

import pytest
import yaml

from gateway.errors import PolicyError
from gateway.policy import ColumnRole, load_policy, policy_hash

POLICY = Path(__file__).parent.parent / "policies" / "health_thing.yaml"


def test_health_thing_policy_loads_with_every_extract_table() -> None:
    policy = load_policy(POLICY)
    assert set(policy.tables) == {"members", "tips", "theme_follows", "support_requests"}
    assert policy.column("tips", "tip_pid").role is ColumnRole.IDENTIFIER
    assert policy.column("tips", "member_pid").role is ColumnRole.PRIVACY_UNIT


def test_policy_hash_ignores_yaml_formatting(tmp_path: Path) -> None:
    reformatted = tmp_path / "p.yaml"
    reformatted.write_text(yaml.safe_dump(yaml.safe_load(POLICY.read_text()), indent=4))
    assert policy_hash(load_policy(reformatted)) == policy_hash(load_policy(POLICY))


def test_invalid_field_is_named_by_its_yaml_path(tmp_path: Path) -> None:
    raw = yaml.safe_load(POLICY.read_text())
    del raw["tables"]["tips"]["columns"]["helpful_votes"]["upper"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError) as err:
        load_policy(bad)
    assert err.value.code == "policy_invalid"
    assert "tables.tips.columns.helpful_votes" in err.value.message


def test_missing_policy_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (["2024-01-01"], "first and last day"),
        (["2024-01-01", "soon"], "first and last day"),
        (["2024-02-01", "2024-01-01"], "start before it ends"),
    ],
)
def test_a_date_domain_is_its_first_and_last_day(
    tmp_path: Path, domain: list[str], message: str
) -> None:
    raw = yaml.safe_load(POLICY.read_text())
    raw["tables"]["tips"]["columns"]["created_month"]["domain"] = domain
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError) as err:
        load_policy(bad)
    assert "tables.tips.columns.created_month" in err.value.message
    assert message in err.value.message
    raw["tables"]["tips"]["columns"]["created_month"]["domain"] = ["2024-01-01", "2024-12-31"]
    bad.write_text(yaml.safe_dump(raw))
    assert load_policy(bad).column("tips", "created_month").domain == ("2024-01-01", "2024-12-31")
