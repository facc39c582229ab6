"""In a real browser: sign in, type a query, see the live verdict; read an insight in English."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from gateway.config import Settings
from gateway.policy import Policy
from gateway.service.app import create_app
from tests.service.factories import Api, make_api
from tests.service.test_web import published

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def served(settings: Settings, policy: Policy) -> Iterator[tuple[Api, str]]:
    """The service on a free local port, with a published insight."""
    api = make_api(settings, policy)
    published(api)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, policy), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    yield api, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


def test_live_vetting_and_the_member_portal(served: tuple[Api, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    api, base = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page()
        page.goto(f"{base}/workspace")
        expect(page).to_have_url(f"{base}/login?next=/workspace")
        page.fill("#token", api.tokens["ann"])
        page.click("form.stack button[type=submit]")
        expect(page).to_have_url(f"{base}/workspace")
        page.click("text=Sleep tips over the year")
        page.fill("textarea[name=sql]", "SELECT member_pid FROM tips")
        verdict = page.locator("#vet-result")
        expect(verdict).to_contain_text("identifier_in_output")
        expect(verdict).to_contain_text("^^^^^^^^^^")
        page.fill("textarea[name=sql]", "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme")
        # the first allowed query loads OpenDP to predict its accuracy: give it time
        expect(verdict).to_contain_text("Toegestaan", timeout=60_000)

        page.goto(f"{base}/insights")
        page.click(".langs a[href='?lang=en']")
        expect(page.locator("h1")).to_have_text("Insights")
        expect(page.locator("svg.chart line.whisker")).to_have_count(6)

        page.click("form[action='/logout'] button")
        page.goto(f"{base}/workspace")
        expect(page).to_have_url(f"{base}/login?next=/workspace")
        browser.close()


def test_the_api_reference_and_pages_load_nothing_from_elsewhere(served: tuple[Api, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = served[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page()
        requested: list[str] = []
        refused: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.goto(f"{base}/docs")
        expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
        expect(page.locator(".opblock-summary-path", has_text="/api/me")).to_have_count(1)
        page.goto(f"{base}/insights?lang=en")
        expect(page.locator("h1")).to_have_text("Insights")
        assert requested
        assert all(url.startswith(base) for url in requested), requested
        assert refused == []

        page.set_content(f'<iframe src="{base}/insights?lang=en"></iframe>', wait_until="load")
        framed = page.frames[-1]
        assert framed.url.startswith("chrome-error://"), "the browser showed the page in a frame"
        assert "Insights" not in framed.content()
        browser.close()
