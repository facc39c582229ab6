"""``Client``: the gateway's API from Python, for notebooks and scripts.

    from gateway.client import Client
    gw = Client("http://127.0.0.1:8000", token)
    job = gw.submit(1, "SELECT theme, COUNT(*) AS tips FROM tips GROUP BY theme", epsilon=0.5)
    frame = gw.release(gw.wait(job["id"])["id"])

Everything goes over HTTP with the researcher's API token as a bearer token;
nothing here reads data. A refusal raises ``GatewayClientError`` carrying the
problem's code, message, hint and issues (each with its line and column);
a job that ends without a release raises ``JobFailed``. ``release`` returns a
Polars DataFrame with the group keys, then per aggregate ``x`` the columns
``x``, ``x_low`` and ``x_high``; ``metadata`` returns what the release says of
itself (ε, δ, bounds, flags, whether it is dummy).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import httpx

from gateway.errors import GatewayError, Issue

if TYPE_CHECKING:
    import polars as pl

Json = dict[str, Any]


class GatewayClientError(GatewayError):
    """A problem the gateway answered with (RFC 9457), or why it could not be reached."""

    title = "Refused by the gateway"
    instance: str | None = None
    """The problem's ``instance``: for a refused submission, the job it was kept as."""

    def at(self, status: int, instance: str | None = None) -> GatewayClientError:
        """This error with the HTTP ``status`` it came with and the ``instance`` it names."""
        self.status, self.instance = status, instance
        return self

    @property
    def job_id(self) -> int | None:
        """The job a refused submission was kept as, if the problem names one."""
        prefix = "/api/jobs/"
        if self.instance and self.instance.startswith(prefix):
            tail = self.instance.removeprefix(prefix)
            return int(tail) if tail.isdigit() else None
        return None

    @classmethod
    def of(cls, response: httpx.Response) -> GatewayClientError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or "code" not in body:
            return cls(
                f"http_{response.status_code}",
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code} {response.reason_phrase}",
                hint="check GATEWAY_URL: it should be the gateway's address",
            ).at(response.status_code)
        return cls(
            str(body["code"]),
            str(body.get("detail") or body.get("title") or body["code"]),
            hint=body.get("hint"),
            issues=[Issue.model_validate(issue) for issue in body.get("issues") or []],
        ).at(response.status_code, body.get("instance"))


class JobFailed(GatewayClientError):
    """A job that ended without a release: refused, rejected, out of budget or failed."""

    def __init__(self, job: Json) -> None:
        super().__init__(
            str(job["status"]),
            f"job {job['id']} ended as {job['status']}: {job['message']}",
            hint=job.get("status_description"),
            issues=[
                Issue.model_validate(issue)
                for issue in (job.get("vet_report") or {}).get("violations") or []
            ],
        )
        self.at(409, f"/api/jobs/{job['id']}")
        self.job = job


class WaitTimeout(GatewayClientError, TimeoutError):
    """``wait`` gave up before the job ended; the job goes on and may still be released."""


class Client:
    """The gateway's API over ``url`` with a researcher's API ``token``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ValueError("a token is needed: ask an administrator (`gateway user token NAME`)")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ questions

    def vet(
        self,
        project_id: int | None,
        sql: str,
        epsilon: float | None = None,
        bounds: Json | None = None,
    ) -> Json:
        """What the policy says of ``sql``: allowed, issues, plan, cost and the budget after."""
        return self._json(
            "POST",
            "/api/vet",
            {"project_id": project_id, "sql": sql, "epsilon": epsilon, "bounds": bounds},
        )

    def submit(
        self,
        project_id: int,
        sql: str,
        epsilon: float | None = None,
        dummy: bool = False,
        bounds: Json | None = None,
    ) -> Json:
        """Submit a query; the job as a dict. ``dummy`` runs it free on synthetic data."""
        body = {
            "project_id": project_id,
            "sql": sql,
            "epsilon": epsilon,
            "dummy": dummy,
            "bounds": bounds,
        }
        return self._json("POST", "/api/queries", body)

    def submit_analysis(
        self,
        project_id: int,
        code: str | None = None,
        *,
        template: str | None = None,
        epsilon: float | None = None,
        dummy: bool = False,
    ) -> Json:
        """Submit a Python analysis by ``code`` or by ``template`` name; the job as a dict."""
        body = {
            "project_id": project_id,
            "code": code,
            "template": template,
            "epsilon": epsilon,
            "dummy": dummy,
        }
        return self._json("POST", "/api/analyses", body)

    # ------------------------------------------------------------ jobs

    def job(self, job_id: int) -> Json:
        return self._json("GET", f"/api/jobs/{job_id}")

    def jobs(self, project_id: int | None = None) -> list[Json]:
        """Jobs newest first, of one project or all of yours."""
        params = {} if project_id is None else {"project_id": project_id}
        data: list[Json] = self._json("GET", "/api/jobs", params=params)["data"]
        return data

    def wait(self, job_id: int, timeout: float = 300.0, poll: float = 0.5) -> Json:
        """The job once it is released; ``JobFailed`` if it ends otherwise.

        Raises ``WaitTimeout`` (a ``TimeoutError``) after ``timeout`` seconds: a
        job waiting for a reviewer, or for a worker when none runs, waits as long
        as they do.
        """
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["is_final"]:
                if job["status"] != "released":
                    raise JobFailed(job)
                return job
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    "wait_timeout",
                    f"job {job_id} is still {job['status']} after {timeout:g} s: "
                    f"{job['status_description']}",
                    hint="wait longer, or follow it with `jobs`; it runs on without you",
                ).at(0, f"/api/jobs/{job_id}")
            time.sleep(poll)

    # ------------------------------------------------------------ releases

    def metadata(self, job_id: int) -> Json:
        """The release of a job: ε and δ charged, each part's release (ε, δ, bounds with
        their cut and ``biased`` flag, suppressed groups, ``dummy``) and each part's table."""
        return self._json("GET", f"/api/jobs/{job_id}/release.json")

    def release(self, job_id: int, part: str | None = None) -> pl.DataFrame:
        """The release as a DataFrame: keys, then ``x``, ``x_low``, ``x_high`` per aggregate."""
        import polars as pl

        tables = self.metadata(job_id)["tables"]
        names = [table["name"] for table in tables]
        if part is None and len(tables) == 1:
            table = tables[0]
        elif part in names:
            table = tables[names.index(part)]
        else:
            raise ValueError(f"say which part: release(job_id, part=...) with one of {names}")
        return pl.DataFrame(table["rows"], schema=table["columns"], orient="row", strict=False)

    def download(
        self,
        job_id: int,
        format: Literal["csv", "parquet", "json"] = "csv",
        part: str | None = None,
    ) -> bytes:
        """The release file as the job page offers it."""
        params = {} if part is None else {"part": part}
        return self._send("GET", f"/api/jobs/{job_id}/release.{format}", params=params).content

    # ------------------------------------------------------------ projects and schema

    def budget(self, project_id: int) -> Json:
        """Granted, held, spent and remaining ε and δ of a project."""
        budget: Json = self._json("GET", f"/api/projects/{project_id}")["budget"]
        return budget

    def privacy_loss(self) -> Json:
        """What all projects spent on each member cohort in the last 365 days, against the
        platform's cap: ``remaining_epsilon`` per cohort is the most a submission may ask."""
        return self._json("GET", "/api/public/privacy-loss")

    def schema(self) -> Json:
        """The tables and columns a query may use, with roles, domains and ranges."""
        return self._json("GET", "/api/schema")

    # ------------------------------------------------------------ transport

    def _json(
        self, method: str, path: str, body: Json | None = None, params: Json | None = None
    ) -> Json:
        payload = None if body is None else {k: v for k, v in body.items() if v is not None}
        answer: Json = self._send(method, path, json=payload, params=params).json()
        return answer

    def _send(
        self, method: str, path: str, *, json: Json | None = None, params: Json | None = None
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as err:
            raise GatewayClientError(
                "unreachable",
                f"could not reach the gateway at {self.url}: {err}",
                hint="check GATEWAY_URL and that `gateway serve` runs there",
            ).at(0) from None
        if response.is_error:
            raise GatewayClientError.of(response)
        return response
