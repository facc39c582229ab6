"""The release table says in words what bounding did to each column, and what has no interval."""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from gateway.dp.release import ColumnBounds, Release
from gateway.dp.render import describe_bounds, render_release
from gateway.policy.model import Aggregation


def _release(**changes: object) -> Release:
    """A release as the engine shapes it; the numbers are placeholders, never data."""
    base: dict[str, object] = {
        "columns": ["theme", "n", "votes", "median_words"],
        "rows": [["sleep", 120, 4.5, 30], ["stress", 80, 3.0, 25]],
        "ci": [
            [None, (100.0, 140.0), (4.0, 5.0), None],
            [None, (60.0, 100.0), (2.5, 3.5), None],
        ],
        "epsilon": 1.0,
        "epsilon_spent": 1.0,
        "delta": 1e-7,
        "suppressed_groups": 0,
        "mechanism": "laplace",
        "budget_split": {"n": 0.3, "votes": 0.3, "median_words": 0.4},
        "plan_hash": "p" * 64,
        "extract_hash": "e" * 64,
        "created_at": dt.datetime.now(dt.UTC),
    }
    return Release.model_validate(base | changes)


COUNTED = ColumnBounds(
    rows_per_group=50, groups=12, chosen=True, cut_share=0.03, cut_share_error=0.01, widened=True
)
CLAMPED = ColumnBounds(
    rows_per_group=1,
    groups=12,
    clamp=(0, 20),
    chosen=False,
    fixed=True,
    cut_share=0.12,
    cut_share_error=0.02,
    biased=True,
)
MEDIAN = ColumnBounds(rows_per_group=1, groups=12, clamp=(0, 400), chosen=True)


def _text(release: Release, table: str | None = "tips") -> str:
    console = Console(record=True, width=400)
    console.print(render_release(release, table=table))
    return " ".join(console.export_text().split())


def test_each_column_says_what_bounding_did_in_words() -> None:
    text = _text(_release(bounds={"n": COUNTED, "votes": CLAMPED}, bounds_epsilon=0.2))
    assert (
        "n: at most 50 tips per member per theme counted, in at most 12 themes "
        "(chosen with DP); about 3 % of tips were left out (± 1 %)"
    ) in text
    assert "votes (BIASED): at most 1 tip per member per theme counted" in text
    assert "each value clamped to [0, 20] (fixed by the researcher)" in text
    assert "ε = 0.2 of the ε = 1 was spent choosing bounds" in text


def test_a_mean_says_how_it_weighs_members_and_which_values_noise_hid() -> None:
    averaged = CLAMPED.model_copy(update={"fixed": False, "too_noisy": 2})
    words = describe_bounds("votes", averaged, ["theme"], "tips", Aggregation.MEAN)
    assert words.startswith("votes (BIASED): each member's tips count once per theme, as their ")
    assert "(set by the policy)" in words
    assert "2 of its values are not shown: noise carried them outside the clamp range" in words
    weighed = averaged.model_copy(update={"rows_per_group": 4, "too_noisy": 0})
    words = describe_bounds("votes", weighed, ["theme"], "tips", Aggregation.MEAN)
    assert "at most 4 tips per member per theme counted (a member with more counts as" in words
    assert "not shown" not in words


def test_each_column_says_what_its_interval_covers() -> None:
    """The engine says which intervals it widened by their estimated cut; the words follow."""
    console = Console(record=True, width=400)
    functions = {"n": Aggregation.COUNT, "votes": Aggregation.MEAN}
    release = _release(bounds={"n": COUNTED, "votes": CLAMPED})
    console.print(render_release(release, table="tips", aggregates=functions))
    text = " ".join(console.export_text().split())
    assert (
        "about 3 % of tips were left out (± 1 %); its interval is widened upwards by that cut, "
        "so it covers the unbounded answer when the estimate holds"
    ) in text
    assert "cut off (± 2 %); its interval is that of the bounded value" in text
    fixed = COUNTED.model_copy(update={"chosen": False, "cut_share": None, "widened": False})
    assert describe_bounds("n", fixed, ["theme"], "tips", Aggregation.COUNT).endswith(
        "what bounding cut is not estimated; its interval is that of the bounded value"
    )


def test_a_biased_column_is_marked_in_its_header_and_its_words() -> None:
    text = _text(_release(bounds={"n": COUNTED, "votes": CLAMPED}))
    assert "votes (BIASED)" in text
    assert "n (BIASED)" not in text
    assert "about 12 % of the unbounded answer was cut off" in text
    assert "more than the policy tolerates" in text
    biased_count = COUNTED.model_copy(update={"biased": True, "cut_share": 0.3})
    assert "likely an underestimate" in describe_bounds("n", biased_count, ["theme"], "tips")


def test_the_notes_keep_their_phrases_whole_under_a_narrow_table() -> None:
    """The words under a one-column table wrap at the terminal's width, not the table's."""
    flagged = COUNTED.model_copy(update={"biased": True, "cut_share": 0.3})
    release = _release(columns=["n"], rows=[[120]], ci=[[(100.0, 140.0)]], budget_split={"n": 1.0})
    console = Console(record=True, width=40)
    console.print(render_release(release.model_copy(update={"bounds": {"n": flagged}})))
    lines = console.export_text().splitlines()
    assert any("[low, high]: 95% confidence interval" in line for line in lines)
    assert any(line.startswith("n (BIASED): at most 50 rows per member") for line in lines)
    assert max(len(line.rstrip()) for line in lines) > 30  # wider than the table's 18 columns


def test_medians_say_plainly_that_they_have_no_interval() -> None:
    for release in (_release(), _release(bounds={"median_words": MEDIAN})):
        assert "median_words: a DP median or quantile has no interval" in _text(release)
    assert "what bounding cut is not estimated" in _text(_release(bounds={"median_words": MEDIAN}))


def test_without_bounds_the_table_shows_nothing_extra() -> None:
    text = _text(_release())
    assert "[low, high]: 95% confidence interval median_words:" in text
    for words in ("bounded", "per member", "BIASED", "choosing bounds", "left out"):
        assert words not in text


def test_the_words_fit_queries_without_groups_or_a_known_table() -> None:
    assert describe_bounds("n", COUNTED, [], None) == (
        "n: at most 50 rows per member counted (chosen with DP); "
        "about 3 % of rows were left out (± 1 %); its interval is widened upwards by that "
        "cut, so it covers the unbounded answer when the estimate holds"
    )
    by_two = describe_bounds("n", COUNTED, ["theme", "created_month"], "support_requests")
    assert "support requests per member per theme and created month counted" in by_two
    assert "in at most 12 theme × created_month cells" in by_two
    categories = describe_bounds("n", COUNTED, ["category"], "support_requests")
    assert "in at most 12 categories" in categories


def test_a_count_of_members_is_bounded_by_its_cells_only() -> None:
    members = describe_bounds("m", COUNTED, ["theme"], "tips", Aggregation.COUNT_DISTINCT_MEMBERS)
    assert members == (
        "m: each member counted in at most 12 themes (chosen with DP); "
        "about 3 % of members were left out (± 1 %); its interval is widened upwards by that "
        "cut, so it covers the unbounded answer when the estimate holds"
    )
    text = _text(
        _release(bounds={"n": COUNTED}, columns=["theme", "n", "votes", "median_words"]),
    )
    assert "n: at most 50 tips per member" in text
    console = Console(record=True, width=400)
    console.print(
        render_release(
            _release(bounds={"n": COUNTED}),
            table="tips",
            aggregates={"n": Aggregation.COUNT_DISTINCT_MEMBERS},
        )
    )
    assert "n: each member counted in at most 12 themes" in " ".join(console.export_text().split())
