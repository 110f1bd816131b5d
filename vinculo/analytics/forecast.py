"""Monthly revenue forecast with 80% and 95% prediction intervals (statsmodels ETS).

The series is the warehouse's revenue per calendar month (``mart_sales``: net of discounts,
without tax, revenue statuses only), from the first month with revenue to the last complete
month, months without orders counted as 0. The model depends on how much history there is:

- 24 months or more: ETS(A, Ad, A), additive error, damped trend, seasonal period 12;
- 12 to 23 months: ETS(A, Ad, N), no seasonality (one year cannot separate season from noise);
- 6 to 11 months: ETS(A, N, N), simple exponential smoothing;
- fewer than 6: refused.

Intervals are the model's analytic prediction intervals, clipped at 0 (revenue is never
negative). Quality: a backtest refits on the series without its last 6 months and reports
the MAPE (and how often the 80%/95% intervals held the actual value) on those months.

``forecast_next_to_pipeline`` puts the latest run beside the pipeline forecast
(``vinculo.sales.forecast``) for the dashboards.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.analytics import warehouse
from vinculo.analytics.runs import latest_run, model_run
from vinculo.core.errors import ValidationError

MIN_MONTHS = 6
SEASONAL_FROM = 24
TREND_FROM = 12
BACKTEST_MONTHS = 6
MAX_HORIZON = 24


@dataclass(frozen=True)
class ForecastFit:
    method: str
    rows: list[dict]  # month, forecast, lo80, hi80, lo95, hi95


def last_complete_month(as_of: dt.date) -> dt.date:
    if (as_of + dt.timedelta(days=1)).month != as_of.month:
        return as_of.replace(day=1)
    return (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def monthly_revenue(*, as_of: dt.date) -> pd.Series:
    """Revenue per month (index: month starts, frequency MS) up to the last complete month."""
    last = last_complete_month(as_of)
    rows = warehouse.query(
        "SELECT month, CAST(sum(revenue) AS DOUBLE) AS revenue FROM mart_sales "
        "WHERE month <= ? GROUP BY month ORDER BY month",
        [last],
    )
    if not rows:
        return pd.Series(dtype=float)
    series = pd.Series(
        [r["revenue"] for r in rows], index=pd.DatetimeIndex([r["month"] for r in rows])
    )
    full = pd.date_range(series.index.min(), pd.Timestamp(last), freq="MS")
    return series.reindex(full, fill_value=0.0).astype(float)


def _model(series: pd.Series):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    n = len(series)
    if n >= SEASONAL_FROM:
        spec = {"trend": "add", "damped_trend": True, "seasonal": "add", "seasonal_periods": 12}
        method = "ETS(A,Ad,A) seasonal=12"
    elif n >= TREND_FROM:
        spec, method = {"trend": "add", "damped_trend": True}, "ETS(A,Ad,N)"
    else:
        spec, method = {}, "ETS(A,N,N)"
    return ETSModel(series, error="add", **spec), method


def fit_forecast(series: pd.Series, *, horizon: int = 6) -> ForecastFit:
    """Forecast ``horizon`` months after the series with 80% and 95% intervals."""
    series = series.astype(float)
    if len(series) < MIN_MONTHS:
        raise ValidationError.for_field(
            "months",
            _(
                "A revenue forecast needs at least %(min)d months of history; the warehouse "
                "has %(n)d."
            )
            % {"min": MIN_MONTHS, "n": len(series)},
        )
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValidationError.for_field(
            "horizon", _("Forecast from 1 to %(max)d months ahead.") % {"max": MAX_HORIZON}
        )
    series = series.copy()
    series.index = pd.DatetimeIndex(series.index, freq="MS")
    model, method = _model(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the backtest judges the fit
        fitted = model.fit(disp=False)
        start, end = len(series), len(series) + horizon - 1
        p80 = fitted.get_prediction(start=start, end=end).summary_frame(alpha=0.2)
        p95 = fitted.get_prediction(start=start, end=end).summary_frame(alpha=0.05)
    months = pd.date_range(series.index[-1], periods=horizon + 1, freq="MS")[1:]
    rows = []
    for i, month in enumerate(months):
        values = {
            "forecast": p80["mean"].iloc[i],
            "lo80": p80["pi_lower"].iloc[i],
            "hi80": p80["pi_upper"].iloc[i],
            "lo95": p95["pi_lower"].iloc[i],
            "hi95": p95["pi_upper"].iloc[i],
        }
        rows.append(
            {
                "month": month.date().isoformat(),
                **{k: round(max(0.0, float(v)), 2) for k, v in values.items()},
            }
        )
    return ForecastFit(method=method, rows=rows)


def backtest(series: pd.Series, *, months: int = BACKTEST_MONTHS) -> dict | None:
    """Refit without the last ``months`` and compare: MAPE over months with revenue, and
    the share of actual values inside the 80% and 95% intervals. None if too short."""
    if len(series) < MIN_MONTHS + months:
        return None
    fit = fit_forecast(series.iloc[:-months], horizon=months)
    actual = series.iloc[-months:].to_numpy(dtype=float)
    pred = np.array([r["forecast"] for r in fit.rows])
    nonzero = actual != 0
    mape = float(np.mean(np.abs(pred[nonzero] - actual[nonzero]) / actual[nonzero]))
    inside = {
        level: float(
            np.mean(
                [
                    r[f"lo{level}"] <= a <= r[f"hi{level}"]
                    for r, a in zip(fit.rows, actual, strict=True)
                ]
            )
        )
        for level in (80, 95)
    }
    return {
        "months": months,
        "method": fit.method,
        "mape": round(mape, 4) if nonzero.any() else None,
        "coverage80": round(inside[80], 3),
        "coverage95": round(inside[95], 3),
    }


def run_forecast(*, as_of: dt.date | None = None, horizon: int = 6) -> ForecastFit:
    """Forecast monthly revenue from the warehouse and record it (rows in the run summary,
    backtest MAPE in the metrics). Writes no customer score."""
    as_of = as_of or timezone.localdate()
    with model_run("forecast", params={"horizon": horizon}, as_of=as_of) as run:
        series = monthly_revenue(as_of=as_of)
        fit = fit_forecast(series, horizon=horizon)
        run.metrics = {
            "method": fit.method,
            "history_months": len(series),
            "backtest": backtest(series),
        }
        run.summary = {
            "rows": fit.rows,
            # The dashboards' contract (analytics/selectors.py): one band, the 95% interval.
            "forecast": [
                {"month": r["month"], "mean": r["forecast"], "lower": r["lo95"], "upper": r["hi95"]}
                for r in fit.rows
            ],
            "history": [
                {"month": m.date().isoformat(), "revenue": round(float(v), 2)}
                for m, v in series.iloc[-24:].items()
            ],
        }
    return fit


def forecast_next_to_pipeline(*, user, months: int = 3, start: dt.date | None = None) -> list[dict]:
    """Per month from ``start`` (default: this month): the latest statistical revenue forecast
    (company-wide, with intervals; None where the run has no row) beside the pipeline forecast
    of the opportunities ``user`` may see (open, weighted by win rate, won)."""
    from vinculo.sales import forecast as pipeline

    start = (start or timezone.localdate()).replace(day=1)
    run = latest_run("forecast")
    statistical = {r["month"]: r for r in (run.summary.get("rows", []) if run else [])}
    table = pipeline.forecast(user=user, start=start, months=months)
    out = []
    for total in table.totals:
        stat = statistical.get(total.month.isoformat(), {})
        out.append(
            {
                "month": total.month,
                **{k: stat.get(k) for k in ("forecast", "lo80", "hi80", "lo95", "hi95")},
                "pipeline_open": total.open_amount,
                "pipeline_weighted": total.weighted_by_win_rate,
                "won": total.won_amount,
            }
        )
    return out
