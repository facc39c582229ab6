"""Human output: the offending line, a caret under the fragment, message and hint."""

from __future__ import annotations

import pytest

from gateway.errors import Issue, VetError
from gateway.policy import Policy
from gateway.vet import vet
from gateway.vet.render import WIDTH, render_issues


def issues_of(sql: str, policy: Policy) -> list[Issue]:
    with pytest.raises(VetError) as raised:
        vet(sql, policy)
    return raised.value.issues


def caret_line(rendered: str, under: str) -> tuple[str, str]:
    lines = rendered.splitlines()
    index = next(i for i, line in enumerate(lines) if under in line and "|" in line)
    return lines[index], lines[index + 1]


def test_caret_sits_under_the_fragment_on_its_own_line(policy: Policy) -> None:
    sql = "SELECT COUNT(*)\nFROM tips\nWHERE tip_pid = 'x'"
    rendered = render_issues(sql, issues_of(sql, policy))
    shown, carets = caret_line(rendered, "WHERE tip_pid")
    assert shown == "3 | WHERE tip_pid = 'x'"
    assert carets == "  |       ^^^^^^^"
    assert "--> line 3, column 7" in rendered
    assert rendered.endswith("rejected: 1 problem")


def test_tabs_keep_the_caret_aligned(policy: Policy) -> None:
    sql = "SELECT\tCOUNT(*)\tFROM\ttips\tWHERE\ttip_pid = 'x'"
    shown, carets = caret_line(render_issues(sql, issues_of(sql, policy)), "tip_pid")
    assert shown.index("tip_pid") == carets.index("^")


def test_long_lines_are_cut_around_the_fragment(policy: Policy) -> None:
    sql = "SELECT COUNT(*) FROM tips WHERE " + " AND ".join(["theme <> 'sleep'"] * 20)
    sql += " AND tip_pid = 'x'"
    shown, carets = caret_line(render_issues(sql, issues_of(sql, policy)), "tip_pid")
    assert len(shown) < WIDTH + 10
    assert "…" in shown
    assert shown[carets.index("^") :].startswith("tip_pid")
    assert carets.count("^") == len("tip_pid")


def test_issue_without_a_place_shows_message_and_hint_only() -> None:
    issue = Issue(code="epsilon_over_cap", message="too much", hint="ask for less")
    rendered = render_issues("SELECT 1", [issue])
    assert rendered.splitlines()[:2] == [
        "error[epsilon_over_cap]: too much",
        "  = hint: ask for less",
    ]


@pytest.mark.parametrize(
    "fragment",
    [
        "MIN(word_count)",
        "max(helpful_votes)",
        "string_agg(theme, ',')",
        "arg_max(theme, helpful_votes)",
        "STDDEV( word_count )",
        "CASE WHEN theme = 'sleep' THEN 1 END",
        "count(*) OVER (PARTITION BY theme)",
        "CAST(theme AS INT)",
        "theme::INT",
        "[1, 2]",
        "lower(theme)",
    ],
)
def test_highlight_covers_the_whole_construct(fragment: str, policy: Policy) -> None:
    sql = f"SELECT\t{fragment}, COUNT(*) FROM tips"
    highlights = [issue.highlight for issue in issues_of(sql, policy)]
    assert fragment in highlights
