"""Monthly revenue forecast: intervals hold a known seasonal series' next values; the run
reads the warehouse; short histories are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.analytics.history import make_products, write_orders
from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.analytics.forecast import (
    backtest,
    fit_forecast,
    forecast_next_to_pipeline,
    last_complete_month,
    monthly_revenue,
    run_forecast,
)
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.sales import pipelines


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


def seasonal(months: int, *, seed: int = 3) -> pd.Series:
    rnd = np.random.default_rng(seed)
    t = np.arange(months)
    values = 10_000 + 40 * t + 2_500 * np.sin(2 * np.pi * t / 12) + rnd.normal(0, 300, months)
    return pd.Series(values, index=pd.date_range("2021-01-01", periods=months, freq="MS"))


def test_intervals_contain_a_seasonal_series_next_values():
    full = seasonal(54)
    fit = fit_forecast(full.iloc[:48], horizon=6)
    assert fit.method.startswith("ETS(A,Ad,A)")
    actual = full.iloc[48:].to_numpy()
    assert [r["month"] for r in fit.rows] == [m.date().isoformat() for m in full.index[48:]]
    for row, value in zip(fit.rows, actual, strict=True):
        assert row["lo95"] <= row["lo80"] <= row["forecast"] <= row["hi80"] <= row["hi95"]
        assert row["lo95"] <= value <= row["hi95"]
    inside80 = sum(r["lo80"] <= v <= r["hi80"] for r, v in zip(fit.rows, actual, strict=True))
    assert inside80 >= 4
    # The seasonal peak and trough are forecast, not a flat line.
    forecasts = [r["forecast"] for r in fit.rows]
    assert max(forecasts) - min(forecasts) > 3_000
    result = backtest(full)
    assert result["mape"] < 0.08 and result["coverage95"] >= 5 / 6


def test_short_histories_use_simpler_models_and_too_short_is_refused():
    assert fit_forecast(seasonal(15), horizon=3).method == "ETS(A,Ad,N)"
    assert fit_forecast(seasonal(8), horizon=3).method == "ETS(A,N,N)"
    assert backtest(seasonal(8)) is None
    with pytest.raises(ValidationError) as err:
        fit_forecast(seasonal(5))
    assert "months" in err.value.field_errors and "5" in err.value.message
    with pytest.raises(ValidationError) as err:
        fit_forecast(seasonal(30), horizon=0)
    assert "horizon" in err.value.field_errors


def test_last_complete_month():
    assert last_complete_month(dt.date(2026, 10, 31)) == dt.date(2026, 10, 1)
    assert last_complete_month(dt.date(2026, 11, 30)) == dt.date(2026, 11, 1)
    assert last_complete_month(dt.date(2026, 11, 15)) == dt.date(2026, 10, 1)


def test_run_forecasts_the_warehouse_revenue_and_sits_beside_the_pipeline(admin, rep):
    products = make_products(admin)
    customers = CustomerFactory.create_batch(4)
    plan = []
    for m in range(30):  # Garden item 0 is 40: orders per month follow a yearly cycle
        month = dt.date(2024 + m // 12, m % 12 + 1, 10)
        count = 6 + int(4 * np.sin(2 * np.pi * m / 12)) + (m % 3)
        plan += [(customers[i % 4].pk, month, "Garden", 0) for i in range(count)]
    plan.append((customers[0].pk, dt.date(2026, 7, 2), "Garden", 0))  # the incomplete month
    write_orders(products, plan)
    warehouse.refresh(as_of=dt.date(2026, 7, 15))
    series = monthly_revenue(as_of=dt.date(2026, 7, 15))
    assert len(series) == 30 and series.index[-1] == pd.Timestamp("2026-06-01")
    assert series.iloc[0] == 40 * (6 + 0 + 0)

    fit = run_forecast(as_of=dt.date(2026, 7, 15), horizon=4)
    run = ModelRun.objects.get(model="forecast")
    assert run.status == "done" and run.summary["rows"] == fit.rows
    assert [r["month"] for r in fit.rows] == [
        "2026-07-01",
        "2026-08-01",
        "2026-09-01",
        "2026-10-01",
    ]
    assert run.metrics["backtest"]["mape"] is not None and run.metrics["history_months"] == 30
    first = run.summary["forecast"][0]  # what the dashboards draw
    assert first == {
        "month": "2026-07-01",
        "mean": fit.rows[0]["forecast"],
        "lower": fit.rows[0]["lo95"],
        "upper": fit.rows[0]["hi95"],
    }

    opp = pipelines.create_opportunity(
        actor=rep, customer_id=customers[0].pk, name="Fleet", amount="900"
    )
    opp.expected_close_date = dt.date(2026, 8, 20)
    opp.save()
    table = forecast_next_to_pipeline(user=admin, months=3, start=dt.date(2026, 7, 1))
    assert [r["month"] for r in table] == [dt.date(2026, m, 1) for m in (7, 8, 9)]
    assert table[0]["forecast"] == fit.rows[0]["forecast"] and table[2]["hi95"] is not None
    assert table[1]["pipeline_open"] == Decimal("900.00") and table[0]["pipeline_open"] == 0


def test_empty_warehouse_is_refused_and_the_run_kept_as_failed(admin):
    warehouse.refresh(as_of=dt.date(2026, 7, 15))
    with pytest.raises(ValidationError, match="at least 6 months"):
        run_forecast(as_of=dt.date(2026, 7, 15))
    assert ModelRun.objects.get(model="forecast").status == "failed"
    # Without a successful run the dashboard still gets the pipeline, and no forecast.
    (row,) = forecast_next_to_pipeline(user=admin, months=1, start=dt.date(2026, 7, 1))
    assert row["forecast"] is None and row["hi95"] is None and row["pipeline_open"] == 0
