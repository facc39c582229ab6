"""Where a job is: a coarse ``State`` and a granular ``StatusCode``, and the moves between them.

``NEXT`` is the whole state machine; ``set_status`` (``gateway.service.jobs``)
refuses any move not listed here. The diagram in docs/reviewer-guide.md is
generated from it by ``state_diagram()``.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    SUCCEEDED = "SUCCEEDED"


class StatusCode(StrEnum):
    AWAITING_REVIEW = "awaiting_review"
    QUEUED = "queued"
    RUNNING = "running"
    RELEASED = "released"
    VETTING_REFUSED = "vetting_refused"
    BUDGET_EXHAUSTED = "budget_exhausted"
    REVIEW_REJECTED = "review_rejected"
    EXTRACT_UNUSABLE = "extract_unusable"
    ANALYSIS_FAILED = "analysis_failed"
    DP_REFUSED = "dp_refused"
    RELEASE_FAILED = "release_failed"
    SANDBOX_FAILED = "sandbox_failed"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    INTERNAL_ERROR = "internal_error"

    @property
    def state(self) -> State:
        return _STATE.get(self, State.FAILED)

    @property
    def is_final(self) -> bool:
        return self.state in (State.FAILED, State.SUCCEEDED)

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


_STATE = {
    StatusCode.AWAITING_REVIEW: State.PENDING,
    StatusCode.QUEUED: State.PENDING,
    StatusCode.RUNNING: State.RUNNING,
    StatusCode.RELEASED: State.SUCCEEDED,
}

DESCRIPTIONS: dict[StatusCode, str] = {
    StatusCode.AWAITING_REVIEW: "vetted and budgeted; a reviewer must approve it before it runs",
    StatusCode.QUEUED: "vetted and budgeted; waiting for a worker",
    StatusCode.RUNNING: "a worker is running it (re-run if that worker stops)",
    StatusCode.RELEASED: "its differentially private release is ready",
    StatusCode.VETTING_REFUSED: "the policy does not allow the query; nothing ran",
    StatusCode.BUDGET_EXHAUSTED: "the project's or the platform's remaining ε or δ is smaller "
    "than the job's",
    StatusCode.REVIEW_REJECTED: "a reviewer rejected it; its ε and δ were refunded",
    StatusCode.EXTRACT_UNUSABLE: "the project's extract is missing, expired, stale or another's",
    StatusCode.ANALYSIS_FAILED: "the analysis code failed while building its plan",
    StatusCode.DP_REFUSED: "the DP engine refused the plan",
    StatusCode.RELEASE_FAILED: "it failed after the extract was read; its ε and δ are spent",
    StatusCode.SANDBOX_FAILED: "the sandbox failed or hit a limit",
    StatusCode.ATTEMPTS_EXHAUSTED: "workers stopped while running it too often; ε and δ are spent",
    StatusCode.INTERNAL_ERROR: "an unexpected error; an operator can read the worker's log",
}

_FAILURES_WHILE_RUNNING = frozenset(
    {
        StatusCode.VETTING_REFUSED,
        StatusCode.BUDGET_EXHAUSTED,
        StatusCode.EXTRACT_UNUSABLE,
        StatusCode.ANALYSIS_FAILED,
        StatusCode.DP_REFUSED,
        StatusCode.RELEASE_FAILED,
        StatusCode.SANDBOX_FAILED,
        StatusCode.ATTEMPTS_EXHAUSTED,
        StatusCode.INTERNAL_ERROR,
    }
)

NEXT: dict[StatusCode | None, frozenset[StatusCode]] = {
    None: frozenset(
        {
            StatusCode.AWAITING_REVIEW,
            StatusCode.QUEUED,
            StatusCode.VETTING_REFUSED,
            StatusCode.BUDGET_EXHAUSTED,
        }
    ),
    StatusCode.AWAITING_REVIEW: frozenset({StatusCode.QUEUED, StatusCode.REVIEW_REJECTED}),
    StatusCode.QUEUED: frozenset({StatusCode.RUNNING}),
    StatusCode.RUNNING: frozenset(
        {StatusCode.RUNNING, StatusCode.RELEASED} | _FAILURES_WHILE_RUNNING
    ),
}
"""From each status (``None``: a new job), the statuses it may move to; final ones have none."""


def state_diagram() -> str:
    """The state machine as a Mermaid diagram, for the docs."""
    lines = ["stateDiagram-v2"]
    for source, targets in NEXT.items():
        for target in sorted(targets):
            lines.append(f"    {'[*]' if source is None else source} --> {target}")
    for code in StatusCode:
        if code.is_final:
            lines.append(f"    {code} --> [*]")
    return "\n".join(lines)
