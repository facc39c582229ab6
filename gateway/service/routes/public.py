"""What anyone may read: the register of approved projects and the published insights."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.service import projects, releases
from gateway.service.deps import SettingsDep
from gateway.service.projects import Register
from gateway.service.releases import Insights, Language

router = APIRouter(prefix="/api/public", tags=["public"])


@router.get("/register")
def register(settings: SettingsDep, lang: Language = "nl") -> Register:
    return projects.register(settings, lang)


@router.get("/insights")
def insights(settings: SettingsDep, lang: Language = "nl") -> Insights:
    return releases.insights(settings, lang)


@router.get("/insights/{release_id}")
def insight(release_id: int, settings: SettingsDep, lang: Language = "nl") -> Insights:
    return releases.insights(settings, lang, release_id=release_id)
