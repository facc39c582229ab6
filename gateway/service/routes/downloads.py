"""Downloads of a job's release: ``release.csv``, ``release.parquet`` and ``release.json``.

Each is served twice: under ``/api/jobs/ID/`` for API tokens, and under
``/workspace/jobs/ID/`` for the signed-in pages that link to them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.service import downloads
from gateway.service.deps import CurrentUser, SettingsDep
from gateway.service.downloads import ReleaseDownload
from gateway.service.inputs import PathId

router = APIRouter(tags=["downloads"])
PAGE = "/workspace/jobs/{job_id}"
API = "/api/jobs/{job_id}"

PartQuery = Annotated[
    str | None,
    Query(
        description="the part to download (an analysis's releases have names); "
        "the only one by default"
    ),
]


@router.get(f"{API}/release.json")
@router.get(f"{PAGE}/release.json", include_in_schema=False)
def release_json(job_id: PathId, who: CurrentUser, settings: SettingsDep) -> ReleaseDownload:
    """The release with its metadata (ε, δ, bounds, flags) and each part as a table."""
    return downloads.job_release(settings, who, job_id)


@router.get(f"{PAGE}/release.{{suffix}}", include_in_schema=False)
@router.get(
    f"{API}/release.{{suffix}}",
    response_class=Response,
    responses={200: {"content": {media: {} for media in downloads.MEDIA_TYPES.values()}}},
)
def release_table(
    job_id: PathId,
    suffix: downloads.TableFormat,
    who: CurrentUser,
    settings: SettingsDep,
    part: PartQuery = None,
) -> Response:
    """The release as a table (``csv`` or ``parquet``): group keys, then ``x, x_low, x_high``
    per aggregate ``x``."""
    table = downloads.pick(downloads.job_release(settings, who, job_id), part)
    name = f"job-{job_id}" + ("" if table.name == "query" else f"-{table.name}") + f".{suffix}"
    return Response(
        downloads.WRITERS[suffix](table),
        media_type=downloads.MEDIA_TYPES[suffix],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
