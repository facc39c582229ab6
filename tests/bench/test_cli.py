"""The command-line benchmark runs end to end at one start per command."""

from __future__ import annotations

from bench.cli import COLD, HEADING, WARM, measure, section


def test_the_benchmark_measures_each_command_and_reports_ratios() -> None:
    spent = measure(starts=1)
    assert next(iter(spent)) == "python -c pass"
    assert all(seconds > 0 for seconds in spent.values())
    assert spent[WARM] < spent[COLD]
    text = section(spent, 1, "the machine")
    assert text.startswith(HEADING)
    assert text.count("\n| ") == 1 + len(spent)  # the header, then one row per command
    assert "Goal: `gateway --help` and a warm `gateway vet` within 0.5 s" in text
