"""What anyone may read: the register, the published insights, the platform's privacy loss."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.service import privacy_loss, projects, releases
from gateway.service.deps import PolicyDep, SettingsDep
from gateway.service.inputs import PathId
from gateway.service.privacy_loss import PrivacyLossPublic
from gateway.service.projects import Register
from gateway.service.releases import Insights, Language

router = APIRouter(prefix="/api/public", tags=["public"])


@router.get("/register")
def register(settings: SettingsDep, lang: Language = "nl") -> Register:
    return projects.register(settings, lang)


@router.get("/privacy-loss")
def platform_privacy_loss(settings: SettingsDep, policy: PolicyDep) -> PrivacyLossPublic:
    """ε and δ all projects spent on each member cohort in the last 365 days, against the cap."""
    return privacy_loss.privacy_loss(settings, policy)


@router.get("/insights")
def insights(settings: SettingsDep, lang: Language = "nl") -> Insights:
    return releases.insights(settings, lang)


@router.get("/insights/{release_id}")
def insight(release_id: PathId, settings: SettingsDep, lang: Language = "nl") -> Insights:
    return releases.insights(settings, lang, release_id=release_id)
