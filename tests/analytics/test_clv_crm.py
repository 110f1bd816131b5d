"""CLV on the CRM's orders: a customer who stopped buying is less likely alive and worth less
than one who keeps buying."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.analytics.history import make_history, write_orders
from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.analytics.clv_crm import run_clv_crm
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer
from vinculo.sales.models import Product

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


def test_lapsed_customers_are_less_alive_and_worth_less(admin):
    buyers = make_history(admin, as_of=AS_OF, customers=150)
    steady, lapsed = CustomerFactory(), CustomerFactory()
    garden = {"Garden": [Product.objects.get(sku="GAR-0")]}
    # Same 12 monthly orders; one stops a year before the cutoff.
    write_orders(
        garden, [(steady.pk, AS_OF - dt.timedelta(days=30 * k), "Garden", 0) for k in range(12)]
    )
    write_orders(
        garden,
        [(lapsed.pk, AS_OF - dt.timedelta(days=365 + 30 * k), "Garden", 0) for k in range(12)],
    )
    warehouse.refresh(as_of=AS_OF)
    result = run_clv_crm(as_of=AS_OF)

    a = Customer.objects.get(pk=steady.pk).scores["clv"]
    b = Customer.objects.get(pk=lapsed.pk).scores["clv"]
    assert 0 <= b["p_alive"] < 0.5 < a["p_alive"] <= 1
    assert a["clv"] > 2 * b["clv"]
    assert a["expected_purchases_1y"] > b["expected_purchases_1y"]
    run = ModelRun.objects.get(model="clv")
    assert run.status == "done" and run.customers_scored == len(result.summary.customer_id)
    assert run.customers_scored == len([x for x in buyers if x.days]) + 2
    assert set(run.metrics["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    assert run.metrics["loglik"]["bgnbd"] < 0 and run.metrics["gamma_gamma"]["p"] > 0
    assert run.summary["total_clv"] > 0


def test_no_orders_is_refused_and_nothing_written(db):
    CustomerFactory()
    warehouse.refresh(as_of=AS_OF)
    with pytest.raises(ValidationError) as err:
        run_clv_crm(as_of=AS_OF)
    assert "orders" in err.value.field_errors
    assert ModelRun.objects.get(model="clv").status == "failed"
    assert not Customer.objects.exclude(scores={}).exists()
    with pytest.raises(ValidationError) as err:
        run_clv_crm(as_of=AS_OF, years=0)
    assert "years" in err.value.field_errors
