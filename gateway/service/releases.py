"""Releases: what a job gave, who may read it, and publishing it to members.

A release is read by its project's researcher and by reviewers (each read is
audited). A reviewer publishes it with a title and text in Dutch and
English; only then does it appear in the member insights portal, which shows
the DP values with their confidence intervals, what those intervals cover
and, for a column whose bounds cut too much (``biased``), that it is likely
an underestimate. A release with a biased column is published only when the
reviewer acknowledges it (``acknowledge_biased``).
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
from gateway.policy.model import Aggregation
from gateway.service import audit
from gateway.service.accounts import Principal
from gateway.service.models import Project, ReleaseRecord, Role, utcnow
from gateway.service.projects import get_project, may_see
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
    """A publication, and the reviewer's word that they read what each biased column means."""

    acknowledge_biased: bool = Field(
        default=False,
        description="required (true) when any column is flagged biased: its bounds cut more "
        "than the policy's release.max_cut_share, so its number is likely an underestimate",
    )


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
        description="columns flagged biased, as 'part.column'; publishing needs acknowledge_biased",
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


def _public(row: ReleaseRecord) -> ReleasePublic:
    publication = None
    if row.title_nl and row.title_en and row.text_nl and row.text_en:
        publication = Publication(
            title_nl=row.title_nl, title_en=row.title_en, text_nl=row.text_nl, text_en=row.text_en
        )
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
    """Releases newest first: the researcher's own projects', or all for reviewers."""
    with session(settings) as s:
        query = select(ReleaseRecord).order_by(ReleaseRecord.id.desc())
        if who.role is Role.RESEARCHER:
            query = query.join(Project, Project.id == ReleaseRecord.project_id).where(
                Project.owner_id == who.id
            )
        if published is not None:
            query = query.where(ReleaseRecord.published == published)
        data = [_public(row) for row in s.execute(query.limit(500)).scalars()]
        return ReleasesPublic(data=data, count=len(data))


def publish(
    settings: Settings, who: Principal, release_id: int, publication: PublishRequest
) -> ReleasePublic:
    """Show a release in the member insights portal, with its Dutch and English text.

    A release with a biased column is refused unless ``acknowledge_biased``:
    members will read that its number is likely an underestimate.
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
        biased = biased_columns([Part.model_validate(p) for p in row.parts])
        if biased and not publication.acknowledge_biased:
            raise ConflictError(
                "biased_not_acknowledged",
                f"{', '.join(biased)} {'is' if len(biased) == 1 else 'are'} flagged biased: "
                "bounding cut more than the policy tolerates, so the number is likely an "
                "underestimate",
                hint="read each biased column's bounds and cut on the release page, then "
                "publish with acknowledge_biased set (the page's checkbox)",
            )
        row.published, row.published_at, row.published_by = True, utcnow(), who.id
        row.title_nl, row.title_en = publication.title_nl, publication.title_en
        row.text_nl, row.text_en = publication.text_nl, publication.text_en
        detail: dict[str, Any] = {"job": row.job_id}
        if biased:
            detail["acknowledged_biased"] = biased
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
        data = [_insight(row, project, lang) for row, project in s.execute(query).all()]
    if release_id is not None and not data:
        raise NotFoundError(
            "insight_not_found", f"no published insight {release_id}", hint="see /insights"
        )
    return Insights(data=data, count=len(data), lang=lang)


def _insight(row: ReleaseRecord, project: Project, lang: Language) -> Insight:
    assert row.published_at is not None
    parts = [Part.model_validate(p) for p in row.parts]
    return Insight(
        id=row.id,
        title=(row.title_nl if lang == "nl" else row.title_en) or "",
        text=(row.text_nl if lang == "nl" else row.text_en) or "",
        themes=project.themes,
        project=project.title,
        published_at=row.published_at,
        parts=[part.release for part in parts],
        tables=[part.table for part in parts],
        aggregates=[part.aggregates for part in parts],
        sources=[part.sources for part in parts],
        labels=[
            labels(part.release, lang, part.table, part.aggregates, part.sources) for part in parts
        ],
    )
