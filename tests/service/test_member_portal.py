"""The member portal in the member's language: words, charts, explanations, the register."""

from __future__ import annotations

import re

import pytest

from gateway.policy import Policy
from gateway.policy.model import ColumnRole
from gateway.web.charts import release_charts
from gateway.web.vocabulary import COLUMNS, TERMS, labels
from tests.service.factories import Api
from tests.service.factories import release as make_release
from tests.service.test_web import published


def test_every_word_the_policy_can_put_on_a_page_has_a_translation(policy: Policy) -> None:
    """Proper names (provinces) and numbers (age bands) read the same; words do not."""
    for name, table in policy.tables.items():
        for column, spec in table.columns.items():
            if spec.role in (ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER):
                continue
            assert column in COLUMNS, f"{name}.{column}"
            for value in spec.domain or ():
                if spec.type != "DATE" and re.fullmatch(r"[a-z ]+", value):
                    assert value in TERMS, f"{name}.{column} = {value!r}"
    for purpose in policy.purposes:
        assert purpose in TERMS
    assert all(nl and en for nl, en in TERMS.values())


def test_an_insight_reads_in_dutch_and_in_english(api: Api) -> None:
    release_id = published(api)
    dutch = api.client.get(f"/insights/{release_id}?lang=nl").text
    assert '<th scope="col">Thema</th><th scope="col">Aantal tips</th>' in dutch
    assert "<td>Slaap <span" not in dutch  # a key has no interval
    assert re.search(r"<td>Slaap</td>\s*<td>120", dutch)
    assert '<span class="tag">Slaap</span>' in dutch
    assert ">sleep<" not in dutch
    assert "Privacyverlies ε = 0,50 · Laplace-ruis" in dutch
    assert "laplace" not in dutch
    english = api.client.get(f"/insights/{release_id}?lang=en").text
    assert '<th scope="col">Theme</th><th scope="col">Number of tips</th>' in english
    assert re.search(r"<td>Sleep</td>\s*<td>120", english)
    assert "Privacy loss ε = 0.50 · Laplace noise" in english


@pytest.mark.parametrize("path", ["/insights", "/insights/{id}"])
def test_members_read_what_noise_intervals_and_epsilon_mean(api: Api, path: str) -> None:
    release_id = published(api)
    for lang, words in (
        ("nl", ("Ruis:", "Interval:", "Privacyverlies (ε):")),
        ("en", ("Noise:", "Interval:", "Privacy loss (ε):")),
    ):
        page = api.client.get(path.format(id=release_id) + f"?lang={lang}").text
        explained = page[page.index('<details class="explain"') :]
        for word in words:
            assert word in explained


def test_a_chart_has_a_title_axis_names_and_an_accessible_name() -> None:
    release = make_release(0.5)
    names = labels(release, "nl", "tips", {"n": "count"}, {"theme": "theme"})  # type: ignore[dict-item]
    (svg,) = release_charts(release, "nl", names)
    title = re.search(r'<title id="(chart-\w+)-title">([^<]+)</title>', svg)
    assert title is not None
    ident, text = title.groups()
    assert text == "Aantal tips per thema"
    assert f'aria-labelledby="{ident}-title {ident}-desc"' in svg
    assert f'<desc id="{ident}-desc">Staafdiagram met 2 staven, één per thema;' in svg
    assert '<text class="title" x="0" y="16">Aantal tips per thema</text>' in svg
    axis_names = re.findall(r'<text class="axis-name"[^>]*>([^<]+)</text>', svg)
    assert axis_names == ["Thema", "Aantal tips"]
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["0", "140"]
    assert ">Slaap</text>" in svg


def test_the_register_names_organisation_purpose_themes_budget_and_insights(api: Api) -> None:
    release_id = published(api)
    page = api.client.get("/register?lang=nl").text
    assert "<dt>Organisatie</dt><dd>Radboud University</dd>" in page
    assert "<dt>Doel</dt><dd>Eigen analyse voor de missie</dd>" in page
    assert '<span class="tag">Slaap</span><span class="tag">Stress</span>' in page
    assert "<dt>Privacybudget gebruikt</dt><dd>ε = 0,50 van 3,00</dd>" in page
    assert f'<a href="/insights/{release_id}">Tips per thema</a>' in page
    twin = api.client.get("/register.json?lang=en").json()
    (entry,) = twin["data"]
    assert entry["organisation"] == "Radboud University"
    assert entry["spent_epsilon"] == pytest.approx(0.5)
    assert [i["title"] for i in entry["insights"]] == ["Tips by theme"]
