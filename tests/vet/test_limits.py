"""The policy's size limits are enforced before and around parsing."""

from __future__ import annotations

import pytest

from gateway.errors import VetError
from gateway.policy import Policy
from gateway.vet import vet
from tests.vet.factories import policy_with


def codes(sql: str, policy: Policy) -> list[str]:
    with pytest.raises(VetError) as raised:
        vet(sql, policy)
    return [issue.code for issue in raised.value.issues]


def test_length_is_counted_in_bytes_before_parsing() -> None:
    small = policy_with(limits={"max_query_bytes": 100})
    fits = "SELECT COUNT(*) FROM tips WHERE theme = 'sleep'"
    assert vet(fits, small)
    # Multi-byte characters count as bytes; the text is refused unparsed.
    too_long = "SELECT COUNT(*) FROM tips /* " + "é" * 40 + " */"
    assert len(too_long) <= 100 < len(too_long.encode())
    assert codes(too_long, small) == ["query_too_long"]
    assert codes("(" * 200, small) == ["query_too_long"]


def test_nesting_limit_comes_from_the_policy() -> None:
    shallow = policy_with(limits={"max_nesting": 6})
    three = "SELECT COUNT(*) FROM tips WHERE (((theme = 'sleep')))"
    eight = "SELECT COUNT(*) FROM tips WHERE ((((((((theme = 'sleep'))))))))"
    assert vet(three, shallow)
    assert codes(eight, shallow) == ["too_deeply_nested"]


@pytest.mark.parametrize("depth", [60, 1_000, 6_000])
def test_deep_input_is_refused_before_parsing(depth: int) -> None:
    roomy = policy_with(limits={"max_query_bytes": 10_000})
    unbalanced = "SELECT COUNT(*) FROM tips WHERE " + "(" * depth
    assert codes(unbalanced, roomy) == ["too_deeply_nested"]


def test_nesting_is_located_at_the_first_token_too_deep(policy: Policy) -> None:
    sql = "SELECT COUNT(*) FROM tips WHERE " + "NOT " * 60 + "theme = 'sleep'"
    with pytest.raises(VetError) as raised:
        vet(sql, policy)
    (issue,) = raised.value.issues
    assert issue.code == "too_deeply_nested"
    assert issue.highlight == "NOT"
    assert issue.start == len("SELECT COUNT(*) FROM tips WHERE ") + 4 * 50


def test_operator_chains_count_as_nesting(policy: Policy) -> None:
    chain = "SELECT COUNT(*) FROM tips WHERE helpful_votes = " + "+".join(["1"] * 80)
    assert codes(chain, policy) == ["too_deeply_nested"]
    long_and = " AND ".join(["helpful_votes > 1"] * 80)
    assert vet(f"SELECT COUNT(*) FROM tips WHERE {long_and}", policy)


def test_max_groups_bounds_limit_and_estimate(policy: Policy) -> None:
    assert policy.limits.max_groups == 10_000
    assert codes("SELECT COUNT(*) FROM tips LIMIT 10001", policy) == ["invalid_limit"]
