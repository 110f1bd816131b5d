"""Profitability: margin less service and marketing cost, per customer and per segment."""

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
from vinculo.analytics import profitability
from vinculo.analytics.models import ModelRun
from vinculo.customers.models import Customer
from vinculo.sales.models import Lead


@pytest.fixture
def mix(products):
    gardener = customer(name="Gardener")
    for d in (1, 30, 60, 90):
        buy(gardener, products["Garden"], d, qty=2)  # margin 4 × 2 × 50 = 400
    costly = customer(name="Costly")
    buy(costly, products["Tech"], 3)  # margin 10
    Lead.objects.create(customer=costly, acquisition_cost=120, source="web")
    Lead.objects.create(customer=costly, acquisition_cost=30, source="web")
    browser = customer(name="Browser")
    Lead.objects.create(customer=browser, acquisition_cost=15, source="web")
    refresh()
    return gardener, costly, browser


def test_net_contribution_subtracts_lead_costs_and_ranks_segments(mix):
    gardener, costly, browser = mix
    result = profitability.run_profitability()
    g = Customer.objects.get(pk=gardener.pk).scores["profitability"]
    assert g == {
        "revenue": 800.0,
        "margin": 400.0,
        "service_cost": 0.0,
        "marketing_cost": 0.0,
        "net_contribution": 400.0,
    }
    c = Customer.objects.get(pk=costly.pk).scores["profitability"]
    assert c["marketing_cost"] == 150.0 and c["net_contribution"] == -140.0
    b = Customer.objects.get(pk=browser.pk).scores["profitability"]
    assert b["net_contribution"] == -15.0  # a lead that never bought still cost money
    ranked = result.by_rfm_segment
    assert ranked[0]["rank"] == 1 and ranked[0]["net_contribution"] == 400.0
    assert [r["net_contribution"] for r in ranked] == sorted(
        (r["net_contribution"] for r in ranked), reverse=True
    )
    assert ranked[-1]["label"] in {"No orders", "New customers", "Promising", "Lost"}
    assert {r["label"] for r in ranked} >= {"No orders"}
    assert sum(r["customers"] for r in result.by_cluster) == 3
    run = ModelRun.objects.get(model="profitability")
    # No cases table in the warehouse yet: service cost is 0 and the summary says so.
    assert "service cost is counted as 0" in run.summary["note"]
    assert run.metrics["unprofitable_customers"] == 2
    assert run.metrics["total_net_contribution"] == 245.0
