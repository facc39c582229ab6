"""Pages anyone may read: the front page, the register, the insights, how data is protected."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.service import privacy_loss, projects, releases
from gateway.service.deps import PolicyDep, SettingsDep, Viewer
from gateway.service.inputs import PathId
from gateway.service.privacy_loss import PrivacyLossPublic
from gateway.web import language, render
from gateway.web.protection import Protection, protection

router = APIRouter(include_in_schema=False)


class PrivacyPage(Protection):
    """The protection page with what all research together spent on members this year."""

    privacy_loss: PrivacyLossPublic


class Home(BaseModel):
    insights: int
    projects: int


@router.get("/")
@router.get("/index.json")
def home(request: Request, settings: SettingsDep, viewer: Viewer) -> Response:
    data = Home(
        insights=releases.insights(settings, language(request)).count,
        projects=projects.register(settings).count,
    )
    return render(request, "home.html", data)


@router.get("/register")
@router.get("/register.json")
def register(request: Request, settings: SettingsDep, viewer: Viewer) -> Response:
    """The public register of approved projects."""
    return render(request, "register.html", projects.register(settings, language(request)))


@router.get("/insights")
@router.get("/insights.json")
def insights(request: Request, settings: SettingsDep, viewer: Viewer) -> Response:
    """Published insights, in Dutch unless ``?lang=en``."""
    return render(request, "insights.html", releases.insights(settings, language(request)))


@router.get("/insights/{release_id:int}.json")
@router.get("/insights/{release_id:int}")
def insight(
    release_id: PathId, request: Request, settings: SettingsDep, viewer: Viewer
) -> Response:
    data = releases.insights(settings, language(request), release_id=release_id)
    return render(request, "insight.html", data)


@router.get("/privacy")
@router.get("/privacy.json")
def privacy(request: Request, settings: SettingsDep, policy: PolicyDep, viewer: Viewer) -> Response:
    """How members' data is protected: promises, safeguards, rights and how to use them."""
    page = protection(policy, language(request), settings.privacy_contact)
    loss = privacy_loss.privacy_loss(settings, policy)
    return render(request, "privacy.html", PrivacyPage(**dict(page), privacy_loss=loss))
