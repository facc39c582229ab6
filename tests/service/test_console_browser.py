"""The reviewer's publish preview in a real browser: WCAG 2.1 AA, and publishing needs every box."""

from __future__ import annotations

import pytest

from tests.service.factories import Api
from tests.service.test_accessibility import AUDIT
from tests.service.test_browser import CHROMIUM, served  # noqa: F401 (a fixture)
from tests.service.test_console import CAVEATS, _released_with_caveats
from tests.service.test_web import PUBLICATION

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def test_the_preview_meets_wcag_aa_and_publishes_once_each_caveat_is_ticked(
    served: tuple[Api, str],  # noqa: F811 (the fixture imported above)
) -> None:
    from playwright.sync_api import expect, sync_playwright

    api, base = served
    release_id = _released_with_caveats(api)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#token", api.tokens["rita"])
        page.click("main form button[type=submit]")
        page.goto(f"{base}/review/releases/{release_id}")
        for name, text in PUBLICATION.items():
            page.fill(f"[name={name}]", text)
        page.click("main form button[type=submit]")
        expect(page.locator("h2.insight-title")).to_have_text(PUBLICATION["title_nl"])
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            for details in page.query_selector_all("details"):
                details.evaluate("d => { d.open = true; }")
            assert page.evaluate(AUDIT) == []
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.click("main form button[type=submit]:not([formaction])")
        expect(page.locator("h2.insight-title")).to_have_count(1)  # the browser kept it here
        for code in sorted(CAVEATS):
            page.check(f"input[name=acknowledged][value={code}]")
        page.click("main form button[type=submit]:not([formaction])")
        expect(page).to_have_url(f"{base}/insights/{release_id}")
        expect(page.locator("h1")).to_have_text(PUBLICATION["title_nl"])
        browser.close()
