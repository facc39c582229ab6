"""The benchmark of a repeated ``gateway run`` runs end to end at one start per command."""

from __future__ import annotations

from bench.run_repeat import HEADING, REPEAT, measure, section


def test_the_benchmark_measures_a_repeat_against_a_bare_start() -> None:
    spent, first = measure(starts=1)
    assert next(iter(spent)) == "python -c pass"
    assert all(seconds > 0 for seconds in spent.values())
    assert spent[REPEAT] < first
    text = section(spent, first, 1, "the machine")
    assert text.startswith(HEADING)
    assert text.count("\n| ") == 1 + len(spent)  # the header, then one row per command
    assert "Goal: a repeated `gateway run` within 0.5 s" in text
