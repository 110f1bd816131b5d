"""RFM on a small known warehouse: quintile scores, segments, exclusions, the run record."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.analytics.segdata import buy, customer, products_fixture, refresh, warehouse_file_fixture  # noqa: F401
from vinculo.analytics import rfm
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer


@pytest.fixture
def shoppers(products):
    garden, books = products["Garden"], products["Books"]
    people = {}
    people["champ"] = customer(name="Champ")
    for _ in range(10):
        buy(people["champ"], garden, 1)  # ten orders, all yesterday
    people["lapsed_big"] = customer(name="Lapsed big spender")
    for d in range(700, 790, 10):
        buy(people["lapsed_big"], garden, d, qty=3)
    people["newbie"] = customer(name="Newbie")
    buy(people["newbie"], books, 2)
    people["gone"] = customer(name="Gone")
    buy(people["gone"], books, 900)
    for i in range(6):  # a middle crowd so quintiles have room
        c = customer(name=f"Mid {i}")
        for k in range(i % 3 + 1):
            buy(c, books, 100 + 40 * i + k)
    people["no_orders"] = customer(name="Window shopper")
    cancelled = customer(name="Cancelled only")
    buy(cancelled, garden, 5, status="cancelled")
    people["cancelled"] = cancelled
    refresh()
    return people


def test_recent_frequent_buyer_is_a_champion_and_old_single_buyer_is_lost(shoppers):
    result = rfm.run_rfm()
    champ = Customer.objects.get(pk=shoppers["champ"].pk).scores["rfm"]
    assert champ["segment"] == "champions" and champ["r"] == 5 and champ["f"] == 5
    assert champ["frequency"] == 10 and champ["recency_days"] == 1
    assert Customer.objects.get(pk=shoppers["gone"].pk).scores["rfm"]["segment"] == "lost"
    big = Customer.objects.get(pk=shoppers["lapsed_big"].pk).scores["rfm"]
    assert big["segment"] == "cant_lose" and big["m"] == 5  # bought a lot, long ago
    assert Customer.objects.get(pk=shoppers["newbie"].pk).scores["rfm"]["segment"] == "new"
    # Customers without a revenue order are left out and counted; a cancellation is not one.
    assert result.excluded == 2
    assert Customer.objects.get(pk=shoppers["no_orders"].pk).scores["rfm"] is None
    assert Customer.objects.get(pk=shoppers["cancelled"].pk).scores["rfm"] is None


def test_run_records_segment_sizes_revenue_share_and_exclusions(shoppers):
    rfm.run_rfm()
    run = ModelRun.objects.get(model="rfm")
    assert run.status == "done" and run.customers_scored == 10
    assert run.metrics["excluded_without_orders"] == 2
    segments = run.summary["segments"]
    assert sum(s["customers"] for s in segments.values()) == 10
    assert segments["champions"]["customers"] == 1 and segments["champions"]["label"] == "Champions"
    # The champion's 10 × 100 and the lapsed spender's 9 × 300 out of all revenue.
    total = 1000 + 2700 + 20 + 20 + 20 * (1 + 2 + 3 + 1 + 2 + 3)
    assert segments["champions"]["revenue_share"] == round(1000 / total, 4)
    assert abs(sum(s["revenue_share"] for s in segments.values()) - 1) < 1e-3


def test_ties_share_a_score():
    values = pd.Series([1, 1, 1, 1, 5, 9])
    scores = rfm.quintile(values)
    assert list(scores) == [1, 1, 1, 1, 4, 5]  # the four tied lowest share the lowest score


def test_every_r_f_pair_has_a_named_segment():
    names = {s for row in rfm.SEGMENT_GRID for s in row}
    assert names == set(rfm.SEGMENTS)


def test_empty_warehouse_is_refused_with_a_message_and_a_failed_run(db):
    refresh()
    with pytest.raises(ValidationError, match="No orders"):
        rfm.run_rfm()
    assert ModelRun.objects.get(model="rfm").status == "failed"
