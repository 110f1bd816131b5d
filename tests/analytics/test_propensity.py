"""Category propensity and next-best-offer on a history where each customer has a favourite
category (80% of their orders)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.analytics.history import CATEGORIES, make_history
from vinculo.analytics import warehouse
from vinculo.analytics.models import ModelRun
from vinculo.analytics.propensity import run_propensity
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer
from vinculo.sales.models import Product

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


def test_offers_are_never_a_category_bought_in_the_last_30_days(admin):
    buyers = make_history(admin, as_of=AS_OF, customers=250, dropout_share=0.2)
    # The best-margin Tech product is withdrawn: it is never offered, its sibling is.
    Product.objects.filter(sku="TEC-1").update(active=False)
    warehouse.refresh(as_of=AS_OF)
    result = run_propensity(as_of=AS_OF)

    per_category = result.metrics["validation"]["per_category"]
    assert sorted(per_category) == sorted(CATEGORIES)
    assert all(c["auc"] > 0.7 for c in per_category.values())
    assert result.metrics["validation"]["auc"] > 0.75

    recent_limit = AS_OF - dt.timedelta(days=30)
    checked = 0
    for b in buyers:
        offer = result.scores.get(b.customer_id)
        if offer is None:
            continue
        recent = {c for d, c in zip(b.days, b.categories, strict=True) if d > recent_limit}
        assert offer["category"] not in recent
        if offer["category"] is None:
            assert recent == set(CATEGORIES)
        else:
            checked += 1
            assert offer["sku"].startswith(offer["category"][:3].upper())
            assert offer["score"] == pytest.approx(offer["p"] * offer["expected_margin"], abs=0.02)
    assert checked > 100
    tech = {o["sku"] for o in result.scores.values() if o["category"] == "Tech"}
    assert tech == {"TEC-0"}

    # The favourite category gets a higher propensity than the others.
    fav, other = [], []
    for b in buyers:
        offer = result.scores.get(b.customer_id)
        if offer:
            fav.append(offer["propensity"][b.favourite])
            other.extend(p for c, p in offer["propensity"].items() if c != b.favourite)
    assert np.mean(fav) > np.mean(other) + 0.2

    stored = Customer.objects.get(pk=next(iter(result.scores))).scores["nbo"]
    assert stored == result.scores[next(iter(result.scores))]
    run = ModelRun.objects.get(pk=result.run_id)
    assert run.customers_scored == run.summary["customers"] == len(result.scores)
    assert sum(run.summary["offers_by_category"].values()) == checked
    assert run.summary["no_offer"] == len(result.scores) - checked


def test_orders_without_categories_are_refused_and_nothing_is_written(admin):
    make_history(admin, as_of=AS_OF, customers=5)
    Product.objects.update(category=None)
    warehouse.refresh(as_of=AS_OF)
    with pytest.raises(ValidationError) as err:
        run_propensity(as_of=AS_OF)
    assert "category" in err.value.field_errors
    assert ModelRun.objects.get(model="propensity").status == "failed"
    assert not Customer.objects.exclude(scores={}).exists()


def test_recent_days_out_of_range_is_refused(db):
    with pytest.raises(ValidationError) as err:
        run_propensity(as_of=AS_OF, recent_days=-1)
    assert "recent_days" in err.value.field_errors
    assert not ModelRun.objects.exists()
