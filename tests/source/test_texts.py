"""Sentence pools: every theme and category has text, templates weigh equally."""

from __future__ import annotations

import numpy as np

from gateway.source import behaviour
from gateway.source.schema import SUPPORT_CATEGORIES, THEMES
from gateway.source.texts import (
    GENERIC_TEMPLATES,
    LANGUAGES,
    SUPPORT_TEMPLATES,
    TIP_TEMPLATES,
    Pools,
    expand,
    tip_pools,
)


def test_every_theme_and_category_has_sentences_in_every_language() -> None:
    assert set(TIP_TEMPLATES) == set(THEMES)
    assert set(SUPPORT_TEMPLATES) == set(SUPPORT_CATEGORIES)
    for templates in (*TIP_TEMPLATES.values(), *SUPPORT_TEMPLATES.values(), GENERIC_TEMPLATES):
        assert all(templates[language] for language in LANGUAGES)


def test_behaviour_covers_every_theme_and_category() -> None:
    for table in (behaviour.THEME_POPULARITY, behaviour.THEME_AGE_AFFINITY, behaviour.SEASONALITY):
        assert set(table) == set(THEMES)
    assert all(len(months) == 12 for months in behaviour.SEASONALITY.values())
    affinity_bands = len(behaviour.AFFINITY_BANDS) + 1
    assert all(len(row) == affinity_bands for row in behaviour.THEME_AGE_AFFINITY.values())
    assert set(behaviour.SUPPORT_CATEGORY_WEIGHTS) == set(SUPPORT_CATEGORIES)


def test_expand_fills_every_placeholder() -> None:
    sentences = expand("Met {cond} wandel ik {time}.", "nl")
    assert len(sentences) == 14 * 4
    assert not any("{" in sentence for sentence in sentences)
    assert "Met reuma wandel ik 's avonds." in sentences


def test_templates_are_drawn_equally_however_many_fillers_they_have() -> None:
    pools = Pools([[["plain"], [f"filled {i}" for i in range(50)]]])
    drawn = pools.sentences.take(
        pools.draw(np.zeros(20_000, dtype=np.int64), np.random.default_rng(3).random(20_000))
    )
    plain = sum(1 for sentence in drawn.to_pylist() if sentence == "plain")
    assert 0.47 < plain / 20_000 < 0.53


def test_tip_pools_keep_themes_apart() -> None:
    pools = tip_pools()
    movement = THEMES.index("movement") * len(LANGUAGES)
    drawn = pools.sentences.take(pools.draw(np.full(200, movement), np.linspace(0, 0.999, 200)))
    texts = " ".join(drawn.to_pylist())
    assert "fiets" in texts
    assert "slaapkamer" not in texts
    assert "suiker" not in texts
