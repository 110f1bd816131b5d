"""Customer lifetime value on the CRM's own orders: ``clv.run_clv`` (BG/NBD + Gamma-Gamma)
fed from the warehouse instead of a file.

A transaction is a revenue order (confirmed, paid, shipped or delivered; net of discounts,
without tax) of a customer that was not merged away, dated by its order day, with revenue
above 0 (a free replacement is not a purchase Gamma-Gamma can value). Each customer who
bought by ``as_of`` gets ``scores["clv"] = {"p_alive", "expected_purchases_1y", "clv",
"as_of", "run"}``; the fitted parameters and log-likelihoods go to the run's metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.analytics import clv
from vinculo.analytics import predict_data as data
from vinculo.analytics.runs import model_run, publish_scores
from vinculo.analytics.transactions import Transactions
from vinculo.core.errors import ValidationError

WEEKS_PER_YEAR = 52


def crm_transactions(frames: data.Frames) -> Transactions:
    orders = frames.orders[frames.orders["revenue"] > 0]
    if orders.empty:
        raise ValidationError.for_field(
            "orders", _("No order with revenue in the warehouse: there is nothing to fit.")
        )
    days = orders["day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    return Transactions.from_arrays(
        orders["customer_id"].to_numpy(), days, orders["revenue"].to_numpy()
    )


def run_clv_crm(
    *,
    as_of: dt.date | None = None,
    years: int = 1,
    discount_rate: float = 0.10,
    write: bool = True,
) -> clv.CLVResult:
    """Fit CLV on the warehouse's orders up to ``as_of`` and write each buyer's score
    (unless ``write`` is False). The run records the fit; a failed fit writes nothing."""
    if not 1 <= years <= 10:
        raise ValidationError.for_field("years", _("The CLV horizon is 1 to 10 years."))
    as_of = as_of or timezone.localdate()
    params = {"years": years, "discount_rate": discount_rate, "period": "week"}
    with model_run("clv", params=params, as_of=as_of) as run:
        frames = data.load(as_of=as_of, lines=False)
        result = clv.run_clv(
            crm_transactions(frames),
            period="week",
            calibration_end=as_of,
            horizon=WEEKS_PER_YEAR * years,
            discount_rate=discount_rate,
        )
        s = result.summary
        one_year = (
            result.expected_purchases
            if years == 1
            else clv.expected_purchases(result.bgnbd, WEEKS_PER_YEAR, s.frequency, s.recency, s.T)
        )
        scores = {
            int(cid): {
                "p_alive": round(float(p), 4),
                "expected_purchases_1y": round(float(n), 3),
                "clv": round(float(v), 2),
                "as_of": as_of.isoformat(),
                "run": run.version,
            }
            for cid, p, n, v in zip(
                s.customer_id, result.p_alive, one_year, result.clv, strict=True
            )
        }
        report = result.report()
        run.metrics = {
            "bgnbd": asdict(result.bgnbd),
            "gamma_gamma": asdict(result.gamma_gamma),
            "loglik": {"bgnbd": result.bgnbd.loglik, "gamma_gamma": result.gamma_gamma.loglik},
            "customers": report["customers"],
            "customers_with_repeat_purchases": report["customers_with_repeat_purchases"],
            "fit_seconds": report["fit_seconds"],
        }
        values = np.asarray(result.clv, dtype=float)
        run.summary = {
            "total_clv": round(float(values.sum()), 2),
            "mean_clv": round(float(values.mean()), 2),
            "mean_p_alive": round(float(np.mean(result.p_alive)), 4),
            "expected_purchases_1y": round(float(np.sum(one_year)), 1),
        }
        run.customers_scored = publish_scores("clv", scores) if write else 0
    return result
