"""The "how your data is protected" page: linked everywhere, in both languages, honest numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.policy import Policy
from tests.service.factories import Api, make_api
from tests.service.test_web import signed_in

PAGES = ("/", "/insights", "/register", "/login", "/privacy")
"""Pages anyone may open."""


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_page_links_to_the_privacy_page(api: Api, lang: str) -> None:
    ann, rita = signed_in(api, "ann"), signed_in(api, "rita")
    pages = [api.client.get(f"{path}?lang={lang}") for path in PAGES]
    pages += [ann.get(f"/workspace?lang={lang}"), rita.get(f"/review?lang={lang}")]
    for page in pages:
        assert page.status_code == 200, page.url
        assert page.text.count('href="/privacy"') >= 2, page.url  # in the menu and the footer
        assert re.search(r'<body>\s*<a class="skip" href="#main">', page.text), page.url


def test_the_page_speaks_dutch_by_default_and_english_on_request(api: Api) -> None:
    dutch = api.client.get("/privacy")
    assert "<h1>Hoe uw gegevens beschermd zijn</h1>" in dutch.text
    assert "Toestemming intrekken" in dutch.text
    assert "Withdraw consent" not in dutch.text
    english = api.client.get("/privacy?lang=en")
    assert "<h1>How your data is protected</h1>" in english.text
    assert "Withdraw consent" in english.text
    assert "Toestemming intrekken" not in english.text


def test_its_twin_says_every_sentence_in_both_languages(api: Api) -> None:
    nl = api.client.get("/privacy.json?lang=nl").json()
    en = api.client.get("/privacy.json?lang=en").json()
    assert [r["right"] for r in en["rights"]] == [
        "Withdraw consent",
        "Object or restrict processing",
        "Delete your account",
        "Erase your contributions",
    ]
    for section in ("promises", "safeguards", "rights"):
        assert len(nl[section]) == len(en[section]) > 0
        for dutch, english in zip(nl[section], en[section], strict=True):
            for field, text in dutch.items():
                assert text != english[field], (section, field)


def test_its_numbers_are_the_policys(settings: Settings, policy: Policy) -> None:
    stricter = policy.model_copy(
        update={
            "extract": policy.extract.model_copy(update={"expiry_days": 14}),
            "release": policy.release.model_copy(update={"min_group_members": 25}),
        }
    )
    client = make_api(settings, stricter).client
    page = client.get("/privacy?lang=en").text
    assert "Within 14 days no research uses data you withdrew" in page
    assert "expires after at most 14 days" in page
    assert "fewer than about 25 members are not shown" in page
    assert "30 days" not in page
    dutch = client.get("/privacy?lang=nl").text
    assert "Binnen 14 dagen" in dutch
    assert "ε = 2,00" in dutch  # the per-query cap, with a decimal comma


def test_the_data_protection_officer_is_named_when_configured(
    tmp_path: Path, policy: Policy
) -> None:
    without = make_api(Settings(data_dir=tmp_path / "a"), policy).client.get("/privacy?lang=en")
    assert "under Privacy in your account" in without.text
    assert "mailto:" not in without.text
    configured = Settings(data_dir=tmp_path / "b", privacy_contact="fg@health-thing.example")
    client = make_api(configured, policy).client
    page = client.get("/privacy?lang=en")
    assert '<a href="mailto:fg@health-thing.example">' in page.text
    twin = client.get("/privacy.json").json()
    assert twin["contact"] == "fg@health-thing.example"
