"""The reviewer's queue: jobs the policy does not auto-approve."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.service import jobs
from gateway.service.deps import CurrentReviewer, SettingsDep
from gateway.service.inputs import PathId
from gateway.service.jobs import JobPublic, JobsPublic, ReviewDecision
from gateway.service.status import StatusCode

router = APIRouter(prefix="/api/reviews", tags=["reviews"])


@router.get("")
def review_queue(who: CurrentReviewer, settings: SettingsDep) -> JobsPublic:
    """Jobs awaiting review, each with the reasons the policy did not approve it itself."""
    return jobs.list_jobs(settings, who, status=StatusCode.AWAITING_REVIEW)


@router.post("/{job_id}")
def review(
    job_id: PathId, decision: ReviewDecision, who: CurrentReviewer, settings: SettingsDep
) -> JobPublic:
    """Let the job run, or reject it (its ε is refunded)."""
    return jobs.review(settings, who, job_id, decision)
