"""Releases: read by the project's researcher and reviewers; published by reviewers."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.service import releases
from gateway.service.deps import CurrentReviewer, CurrentUser, PolicyDep, SettingsDep
from gateway.service.inputs import PathId
from gateway.service.releases import (
    Publication,
    PublishPreview,
    PublishRequest,
    ReleasePublic,
    ReleasesPublic,
)

router = APIRouter(prefix="/api/releases", tags=["releases"])


@router.get("")
def list_releases(
    who: CurrentUser, settings: SettingsDep, published: bool | None = None
) -> ReleasesPublic:
    return releases.list_releases(settings, who, published=published)


@router.get("/{release_id}")
def get_release(release_id: PathId, who: CurrentUser, settings: SettingsDep) -> ReleasePublic:
    """The DP release of a job, with intervals, ε spent and suppressed groups (audited)."""
    return releases.read_release(settings, who, release_id)


@router.post("/{release_id}/preview")
def preview(
    release_id: PathId,
    publication: Publication,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
) -> PublishPreview:
    """The insight exactly as members would see it, in Dutch and English, and its caveats.

    Nothing is published; each caveat's ``code`` goes in ``acknowledged`` when publishing.
    """
    return releases.preview(settings, who, release_id, publication, policy)


@router.post("/{release_id}/publish")
def publish(
    release_id: PathId,
    publication: PublishRequest,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
) -> ReleasePublic:
    """Show the release to members, titled and explained in Dutch and English.

    Refused (``caveats_not_acknowledged``) until ``acknowledged`` holds the code of every
    caveat the preview lists.
    """
    return releases.publish(settings, who, release_id, publication, policy)
