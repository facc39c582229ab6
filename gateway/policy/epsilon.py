"""The privacy loss one submission may ask for: its default and its limits, in one place.

The vetting report, the command line, the service, the pipeline and an
analysis's budget all ask here, so the same ε gets the same answer
everywhere, and the same refusal: an ``EpsilonError`` (422, like any other
part of a request the policy does not allow), never a budget refusal, which
is about what a project has left.
"""

from __future__ import annotations

import math

from gateway.errors import EpsilonError, Issue
from gateway.policy.model import Policy

INVALID_EPSILON = "invalid_epsilon"
EPSILON_OVER_CAP = "epsilon_over_cap"


def asked_epsilon(policy: Policy, epsilon: float | None) -> float:
    """The ε a submission asks for: ``epsilon``, or the policy's per-query default."""
    return policy.budget.default_query_epsilon if epsilon is None else epsilon


def epsilon_issues(policy: Policy, epsilon: float, *, share: float = 1.0) -> list[Issue]:
    """What is wrong with spending ``share`` of ``epsilon`` in one submission, if anything.

    ``share`` is the part of the ε given that an analysis plans to spend; a
    SQL query spends all of it.
    """
    cap = policy.budget.per_query_epsilon_cap
    if not math.isfinite(epsilon) or epsilon <= 0:
        return [
            Issue(
                code=INVALID_EPSILON,
                message=f"ε must be a positive number, not {epsilon}",
                hint=f"run it with --epsilon between 0 and {cap / share:g}",
            )
        ]
    spent = epsilon * share
    if spent > cap:
        return [
            Issue(
                code=EPSILON_OVER_CAP,
                message=f"ε = {spent:g} is above the policy's per-query cap of {cap:g}",
                hint=f"run it with --epsilon {cap / share:g} or less; more needs a policy change",
            )
        ]
    return []


def check_epsilon(policy: Policy, epsilon: float, *, share: float = 1.0) -> None:
    """Refuse what ``epsilon_issues`` finds, before anything is read."""
    issues = epsilon_issues(policy, epsilon, share=share)
    if issues:
        first = issues[0]
        raise EpsilonError(first.code, first.message, hint=first.hint)
