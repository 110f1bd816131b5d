"""Clusters on two clearly different groups: k found, groups separated, described in words."""

from __future__ import annotations

import pytest

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics import clusters
from vinculo.analytics.models import ModelRun
from vinculo.customers.models import Customer


@pytest.fixture
def two_groups(products):
    gardeners, techies = [], []
    for i in range(8):
        c = customer(name=f"Gardener {i}")
        for k in range(6 + i % 3):
            buy(c, products["Garden"], 5 + 20 * k, qty=3)
        for k in range(3):
            contact(c, 10 + k, channel="phone")
        gardeners.append(c)
    for i in range(8):
        c = customer(name=f"Techie {i}")
        buy(c, products["Tech"], 300 + 7 * i)
        contact(c, 40, channel="email")
        techies.append(c)
    refresh()
    return gardeners, techies


def test_two_groups_become_two_clusters_described_by_what_sets_them_apart(two_groups):
    gardeners, techies = two_groups
    result = clusters.run_clusters()
    assert result.k == 2
    assert result.silhouette[2] == max(result.silhouette.values())
    g = {Customer.objects.get(pk=c.pk).scores["clusters"]["cluster"] for c in gardeners}
    t = {Customer.objects.get(pk=c.pk).scores["clusters"]["cluster"] for c in techies}
    assert len(g) == 1 and len(t) == 1 and g != t
    described = {c["cluster"]: c["description"] for c in result.clusters}
    garden_words = described[g.pop()]
    # The gardeners spend more, buy more often, more recently, Garden, by phone: the three
    # strongest of these name their cluster; the one-off tech buyers' cluster says the opposite.
    traits = {"high spend", "buys often", "favours garden", "mostly by phone", "bought recently"}
    assert "favours Garden" in garden_words
    assert sum(w in garden_words.lower() for w in traits) >= 1, garden_words
    tech_words = described[t.pop()].lower()
    assert any(
        w in tech_words
        for w in ("low spend", "buys rarely", "favours tech", "low margin", "rarely in contact")
    ), tech_words
    run = ModelRun.objects.get(model="clusters")
    assert run.metrics["k"] == 2 and set(run.metrics["silhouette"]) >= {"2", "3"}
    assert run.customers_scored == 16


def test_description_names_the_distinguishing_feature():
    import pandas as pd

    sentence, traits = clusters.describe(
        pd.Series(
            {
                "monetary": 1.4,
                "frequency": 0.9,
                "channel:phone": 0.8,
                "tenure": 0.1,
                "category:Garden": 0.6,
            }
        )
    )
    assert sentence == "High spend, buys often, mostly by phone"
    assert [t["feature"] for t in traits] == ["monetary", "frequency", "channel:phone"]
    assert clusters.describe(pd.Series({"monetary": 0.2}))[0] == "Typical customers"
