"""WCAG 2.1 AA in a real browser, on every page each role can reach, at desktop width and 390 px.

Each role signs in through the login page and follows every link of its pages
(the JSON twins, sign-out and the API reference aside), so a page added later
is checked without being listed here. ``accessibility.js`` checks each page as
rendered: a skip link first, a label for every field, one h1 and no skipped
heading level, text contrast from computed colours (4.5:1, 3:1 for large
text), 3:1 for chart bars, whiskers and field edges, a name for every image;
at 390 px the page must not scroll sideways.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.service.factories import Api, approved_over_http
from tests.service.test_browser import CHROMIUM, served  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]

AUDIT = (Path(__file__).parent / "accessibility.js").read_text()
SKIP = ("/logout", "/docs", "/static/", "/api/", "/-/", "/redoc", "/openapi")
MOST_PAGES = 40
"""Per role; ids make each project, job and release its own page."""


def crawl(page: Page, base: str, start: list[str]) -> Iterator[str]:
    """Every page reachable from ``start`` by the links on the pages, once each."""
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < MOST_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(base + path)  # type: ignore[attr-defined]
        if (
            response is None
            or response.status >= 400
            or urlsplit(page.url).path != path.split("?")[0]
        ):  # type: ignore[attr-defined]
            continue  # a refusal or a redirect: the page it leads to is visited on its own
        yield path
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url = urldefrag(href).url
            parts = urlsplit(url)
            download = "." in parts.path.rsplit("/", 1)[-1]  # a JSON twin, a CSV or Parquet file
            if not url.startswith(base) or download or parts.query:
                continue
            if not parts.path.startswith(SKIP) and parts.path not in seen:
                queue.append(parts.path)


@pytest.mark.parametrize(
    ("role", "start"),
    [
        (None, ["/", "/login", "/invite"]),
        ("ann", ["/workspace"]),
        ("rita", ["/review"]),
        ("adam", ["/"]),
    ],
    ids=["member", "researcher", "reviewer", "admin"],
)
def test_every_page_meets_wcag_aa(
    served: tuple[Api, str],  # noqa: F811 (the fixture imported above)
    role: str | None,
    start: list[str],
) -> None:
    from playwright.sync_api import sync_playwright

    api, base = served
    approved_over_http(api)  # a second project, so project pages have company
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        if role is not None:
            page.goto(f"{base}/login")
            page.fill("#token", api.tokens[role])
            page.click("main form button[type=submit]")
            page.wait_for_load_state()
        visited = list(crawl(page, base, start))
        for path in visited:
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(base + path)
                for details in page.query_selector_all("details"):
                    details.evaluate("d => { d.open = true; }")
                found = page.evaluate(AUDIT)
                wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if wide > 0:
                    found.append(f"scrolls sideways by {wide} px")
                if found:
                    problems[f"{path} at {width} px"] = found
        browser.close()
    assert len(visited) >= len(start)
    assert not problems, "\n".join(f"{p}: {'; '.join(found)}" for p, found in problems.items())
