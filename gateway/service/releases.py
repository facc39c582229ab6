"""Releases: what a job gave, who may read it, and publishing it to members.

A release is read by its project's researcher and by reviewers (each read is
audited). A reviewer publishes it with a title and text in Dutch and
English; only then does it appear in the member insights portal, which shows
the DP values with their confidence intervals, what those intervals cover
and, for a column whose bounds cut too much (``biased``), that it is likely
an underestimate. Before publishing, a reviewer previews the insight as
members will see it, in each language, with its caveats (``caveats.py``);
a release is published only when every kind of caveat it has is
acknowledged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.config import Settings
from gateway.db import session
from gateway.dp.release import Release
from gateway.errors import ConflictError, NotFoundError
from gateway.policy.model import Aggregation, Policy
from gateway.service import audit
from gateway.service.accounts import Principal
from gateway.service.caveats import Caveat, CaveatCode, caveats, unacknowledged
from gateway.service.models import Project, ReleaseRecord, utcnow
from gateway.service.projects import get_project, may_see, only_visible
from gateway.service.queue import Part
from gateway.service.transaction import transaction
from gateway.web.vocabulary import Labels, labels

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")


class Publication(BaseModel):
    """What members read above the numbers, in both languages."""

    title_nl: str = Field(min_length=3, max_length=200)
    title_en: str = Field(min_length=3, max_length=200)
    text_nl: str = Field(min_length=10, max_length=5000)
    text_en: str = Field(min_length=10, max_length=5000)


class PublishRequest(Publication):
    """A publication, and the reviewer's word that they read each kind of caveat it has."""

    acknowledged: list[CaveatCode] = Field(
        default_factory=list,
        description="every caveat code the preview lists (biased, no_interval, tiny_groups, "
        "wide_intervals); publishing refuses while one is missing",
    )


class PublishPreview(BaseModel):
    """Exactly what members will see, per language, and what they could misread."""

    release_id: int
    insights: dict[Language, Insight]
    caveats: list[Caveat]


class ReleasePublic(BaseModel):
    id: int
    job_id: int
    project_id: int
    created_at: dt.datetime
    epsilon_charged: float
    delta_charged: float
    parts: list[Part]
    output: str | None
    published: bool
    published_at: dt.datetime | None
    publication: Publication | None
    biased: list[str] = Field(
        default_factory=list,
        description="columns flagged biased, as 'part.column' (a caveat to acknowledge)",
    )


class ReleasesPublic(BaseModel):
    data: list[ReleasePublic]
    count: int


class Insight(BaseModel):
    """A published release as members see it, in one language."""

    id: int
    title: str
    text: str
    themes: list[str]
    project: str
    published_at: dt.datetime
    parts: list[Release]
    tables: list[str | None] = Field(
        default_factory=list,
        description="per part, the table whose rows it counts (for the words on bounds)",
    )
    aggregates: list[dict[str, Aggregation]] = Field(
        default_factory=list, description="per part, each output column's aggregate"
    )
    sources: list[dict[str, str]] = Field(
        default_factory=list, description="per part, the policy column each output column reads"
    )
    labels: list[Labels] = Field(
        default_factory=list, description="per part, its columns and group keys in `lang`"
    )


class Insights(BaseModel):
    data: list[Insight]
    count: int
    lang: Language


def _publication(row: ReleaseRecord) -> Publication | None:
    if row.title_nl and row.title_en and row.text_nl and row.text_en:
        return Publication(
            title_nl=row.title_nl, title_en=row.title_en, text_nl=row.text_nl, text_en=row.text_en
        )
    return None


def _public(row: ReleaseRecord) -> ReleasePublic:
    publication = _publication(row)
    parts = [Part.model_validate(part) for part in row.parts]
    return ReleasePublic(
        id=row.id,
        job_id=row.job_id,
        project_id=row.project_id,
        created_at=row.created_at,
        epsilon_charged=row.epsilon_charged,
        delta_charged=row.delta_charged,
        parts=parts,
        output=row.output,
        published=row.published,
        published_at=row.published_at,
        publication=publication,
        biased=biased_columns(parts),
    )


def biased_columns(parts: list[Part]) -> list[str]:
    """``part.column`` for each column whose bounds cut more than the policy tolerates."""
    return [
        f"{part.name}.{column}"
        for part in parts
        for column, bounds in part.release.bounds.items()
        if bounds.biased
    ]


def read_release(settings: Settings, who: Principal, release_id: int) -> ReleasePublic:
    """A release for its project's researcher or a reviewer; the read is audited."""
    with transaction(settings) as s:
        row = s.get(ReleaseRecord, release_id)
        if row is None or not may_see(who, get_project(s, row.project_id)):
            raise NotFoundError("release_not_found", f"no release {release_id}", hint=None)
        audit.record(s, who.actor, "release.read", "release", release_id, job=row.job_id)
        return _public(row)


def list_releases(
    settings: Settings, who: Principal, *, published: bool | None = None
) -> ReleasesPublic:
    """Releases newest first: the researcher's own projects', or all for reviewers.

    Listing reads every release listed, so one audit record names them all.
    """
    with transaction(settings) as s:
        query = only_visible(
            select(ReleaseRecord).order_by(ReleaseRecord.id.desc()), who, ReleaseRecord.project_id
        )
        if published is not None:
            query = query.where(ReleaseRecord.published == published)
        data = [_public(row) for row in s.execute(query.limit(500)).scalars()]
        if data:
            audit.record(
                s, who.actor, "release.list", "release", None, releases=[r.id for r in data]
            )
        return ReleasesPublic(data=data, count=len(data))


def preview(
    settings: Settings, who: Principal, release_id: int, publication: Publication, policy: Policy
) -> PublishPreview:
    """The insight as members would see it if published now, and its caveats; audited."""
    with transaction(settings) as s:
        row = s.get(ReleaseRecord, release_id)
        if row is None:
            raise NotFoundError("release_not_found", f"no release {release_id}", hint=None)
        project = get_project(s, row.project_id)
        audit.record(s, who.actor, "release.preview", "release", release_id, job=row.job_id)
        when = row.published_at or utcnow()
        return PublishPreview(
            release_id=release_id,
            insights={lang: _insight(row, project, publication, when, lang) for lang in LANGUAGES},
            caveats=caveats(_parts(row), policy),
        )


def publish(
    settings: Settings,
    who: Principal,
    release_id: int,
    publication: PublishRequest,
    policy: Policy,
) -> ReleasePublic:
    """Show a release in the member insights portal, with its Dutch and English text.

    Refused while a kind of caveat the release has is not acknowledged: the
    reviewer has then not read how members could misread it.
    """
    with transaction(settings) as s:
        row = s.get(ReleaseRecord, release_id, with_for_update=True)
        if row is None:
            raise NotFoundError("release_not_found", f"no release {release_id}", hint=None)
        if row.published:
            raise ConflictError(
                "already_published",
                f"release {release_id} was published on {row.published_at:%Y-%m-%d}",
                hint="a published insight stays as members saw it",
            )
        if any(Part.model_validate(p).release.dummy for p in row.parts):
            raise ConflictError(
                "dummy_release",
                "this release was computed on dummy data; it is not an insight",
                hint="run the query on the project's real extract",
            )
        found = caveats(_parts(row), policy)
        missing = unacknowledged(found, publication.acknowledged)
        if missing:
            raise ConflictError(
                "caveats_not_acknowledged",
                "not acknowledged: "
                + "; ".join(f"{c.code.value} ({c.column}: {c.message})" for c in missing),
                hint="preview the release (its page's Preview button, or POST "
                f"/api/releases/{release_id}/preview), read each caveat, then publish with "
                "its code in `acknowledged`",
            )
        row.published, row.published_at, row.published_by = True, utcnow(), who.id
        row.title_nl, row.title_en = publication.title_nl, publication.title_en
        row.text_nl, row.text_en = publication.text_nl, publication.text_en
        detail: dict[str, Any] = {"job": row.job_id}
        if found:
            detail["acknowledged"] = sorted({f"{c.code.value}:{c.column}" for c in found})
        audit.record(s, who.actor, "release.publish", "release", release_id, **detail)
        return _public(row)


def insights(settings: Settings, lang: Language, *, release_id: int | None = None) -> Insights:
    """Published releases, newest first, in ``lang``; the portal's only source."""
    with session(settings) as s:
        query = (
            select(ReleaseRecord, Project)
            .join(Project, Project.id == ReleaseRecord.project_id)
            .where(ReleaseRecord.published.is_(True))
            .order_by(ReleaseRecord.published_at.desc())
        )
        if release_id is not None:
            query = query.where(ReleaseRecord.id == release_id)
        data = [
            _insight(row, project, publication, row.published_at, lang)
            for row, project in s.execute(query).all()
            if (publication := _publication(row)) is not None and row.published_at is not None
        ]
    if release_id is not None and not data:
        raise NotFoundError(
            "insight_not_found", f"no published insight {release_id}", hint="see /insights"
        )
    return Insights(data=data, count=len(data), lang=lang)


def _parts(row: ReleaseRecord) -> list[Part]:
    return [Part.model_validate(part) for part in row.parts]


def _insight(
    row: ReleaseRecord,
    project: Project,
    publication: Publication,
    published_at: dt.datetime,
    lang: Language,
) -> Insight:
    parts = _parts(row)
    return Insight(
        id=row.id,
        title=publication.title_nl if lang == "nl" else publication.title_en,
        text=publication.text_nl if lang == "nl" else publication.text_en,
        themes=project.themes,
        project=project.title,
        published_at=published_at,
        parts=[part.release for part in parts],
        tables=[part.table for part in parts],
        aggregates=[part.aggregates for part in parts],
        sources=[part.sources for part in parts],
        labels=[
            labels(part.release, lang, part.table, part.aggregates, part.sources) for part in parts
        ],
    )
