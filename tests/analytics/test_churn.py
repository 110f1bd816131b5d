"""Churn model on a synthetic history where half the customers stop buying on a known day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.analytics.history import make_history
from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.analytics.churn import run_churn
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


def test_customers_whose_orders_stopped_score_higher_and_the_model_validates_on_the_future(
    admin,
):
    buyers = make_history(admin, as_of=AS_OF, customers=300)
    warehouse.refresh(as_of=AS_OF)
    result = run_churn(as_of=AS_OF)

    validation = result.metrics["validation"]
    assert (
        validation["cutoff"] == "2026-08-02" and result.metrics["train"]["cutoff"] == "2026-05-04"
    )
    assert validation["auc"] > 0.7
    assert validation["lift_top_decile"] > 1.5
    assert 0 <= validation["brier"] < 0.2
    assert sum(b["n"] for b in validation["reliability"]) == validation["n"]
    assert result.metrics["feature_sets_skipped"] == ["campaigns", "cases"]

    # Stopped at least 60 days ago (but bought within the active year) vs still buying.
    stopped = [
        b.customer_id
        for b in buyers
        if b.dropout
        and b.days
        and (AS_OF - b.days[-1]).days > 60
        and b.customer_id in result.scores
    ]
    buying = [b.customer_id for b in buyers if b.dropout is None and b.customer_id in result.scores]
    assert len(stopped) > 20 and len(buying) > 50
    p_stopped = np.mean([result.scores[c]["p"] for c in stopped])
    p_buying = np.mean([result.scores[c]["p"] for c in buying])
    assert p_stopped > p_buying + 0.3
    assert sum(result.scores[c]["band"] == "high" for c in stopped) > len(stopped) / 2

    # Stored on the customer, with the three reasons; recency explains the lapsed ones.
    one = Customer.objects.get(pk=stopped[0]).scores["churn"]
    assert one == result.scores[stopped[0]] and len(one["reasons"]) == 3
    lapsed_reasons = [result.scores[c]["reasons"][0]["feature"] for c in stopped]
    assert lapsed_reasons.count("recency_days") > len(stopped) / 2
    assert result.scores[stopped[0]]["reasons"][0]["effect"] != 0
    run = ModelRun.objects.get(pk=result.run_id)
    assert run.status == "done" and run.customers_scored == len(result.scores)
    assert run.summary["bands"]["high"] >= len(stopped) / 2


def test_a_history_too_short_to_train_is_refused_and_writes_no_score(admin):
    customer = CustomerFactory()
    make_history(admin, as_of=AS_OF, customers=3, years=0.3)
    warehouse.refresh(as_of=AS_OF)
    with pytest.raises(ValidationError) as err:
        run_churn(as_of=AS_OF)
    assert "horizon" in err.value.field_errors
    run = ModelRun.objects.get(model="churn")
    assert run.status == "failed" and "Not enough history" in run.error
    assert not Customer.objects.exclude(scores={}).exists()
    assert customer.scores == {}


def test_bad_windows_are_refused_before_a_run_starts(db):
    with pytest.raises(ValidationError) as err:
        run_churn(as_of=AS_OF, horizon=0)
    assert "horizon" in err.value.field_errors
    with pytest.raises(ValidationError) as err:
        run_churn(as_of=AS_OF, active_days=5)
    assert "active_days" in err.value.field_errors
    assert not ModelRun.objects.exists()


def test_without_a_warehouse_the_run_says_to_build_it(db):
    from vinculo.core.errors import NotFound

    with pytest.raises(NotFound, match="refresh"):
        run_churn(as_of=AS_OF)
    assert ModelRun.objects.get(model="churn").status == "failed"
