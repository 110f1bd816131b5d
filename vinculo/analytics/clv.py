"""Customer lifetime value: BG/NBD for how often and how long a customer keeps buying
(Fader, Hardie & Lee 2005, "Counting your customers the easy way"), Gamma-Gamma for how much
(Fader, Hardie & Lee 2005, "RFM and CLV").

Works on any table of transactions (customer id, date, amount). Both likelihoods are
evaluated over the *distinct* summaries with a count each, with analytic gradients, so a
million customers fit in about a second: customers share (x, t_x, T) because dates have a
day's resolution.

Time is measured in the chosen period (week or day) with a day's resolution; purchases on
the same calendar day count as one transaction, as in the published CDNOW data (where t_x
and T are days / 7).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _
from scipy import optimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from vinculo.analytics.transactions import Transactions
from vinculo.core.errors import ValidationError

DAYS_PER_PERIOD = {"day": 1.0, "week": 7.0}
DAYS_PER_YEAR = 365.25
MAX_STEPS = 52  # discounting steps over the horizon


@dataclass(frozen=True)
class Summary:
    """Per-customer RFM summary of a calibration period (arrays aligned by position)."""

    customer_id: np.ndarray
    frequency: np.ndarray  # repeat purchases (distinct purchase days - 1)
    recency: np.ndarray  # t_x: time from first to last purchase
    T: np.ndarray  # age: time from first purchase to the calibration end
    monetary: np.ndarray  # mean value of the repeat purchases (0 when there are none)
    period: str
    calibration_end: date
    excluded_customers: int  # first purchase after the calibration end


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    loglik: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    loglik: float


def summarise(
    transactions: Transactions, *, period: str = "week", calibration_end: date | None = None
) -> Summary:
    """Frequency, recency and age of every customer who bought on or before the calibration
    end (default: the last date in the data)."""
    if period not in DAYS_PER_PERIOD:
        raise ValidationError.for_field(
            "period", _("Unknown period '%(period)s' (week or day).") % {"period": period}
        )
    days, codes, amounts = transactions.day, transactions.customer_code, transactions.amount
    end_day = int(days.max()) if calibration_end is None else _day_number(calibration_end)
    keep = days <= end_day
    if not keep.any():
        raise ValidationError.for_field(
            "calibration_end",
            _("No purchase on or before the calibration end %(date)s.") % {"date": calibration_end},
        )
    days, codes, amounts = days[keep], codes[keep], amounts[keep]
    order = np.lexsort((days, codes))
    c, d, a = codes[order], days[order], amounts[order]
    # One transaction per customer and day; its value is the day's total.
    new_pair = np.ones(len(c), dtype=bool)
    new_pair[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    pair_start = np.flatnonzero(new_pair)
    pc, pd_, pa = c[pair_start], d[pair_start], np.add.reduceat(a, pair_start)
    new_customer = np.ones(len(pc), dtype=bool)
    new_customer[1:] = pc[1:] != pc[:-1]
    first_idx = np.flatnonzero(new_customer)
    last_idx = np.append(first_idx[1:], len(pc)) - 1
    frequency = (last_idx - first_idx).astype(np.int64)
    first_day, last_day = pd_[first_idx], pd_[last_idx]
    repeat_total = np.add.reduceat(pa, first_idx) - pa[first_idx]
    monetary = np.divide(repeat_total, frequency, out=np.zeros(len(frequency)), where=frequency > 0)
    unit = DAYS_PER_PERIOD[period]
    end = calibration_end or _date_from_day(end_day)
    return Summary(
        customer_id=transactions.customer_ids[pc[first_idx]],
        frequency=frequency,
        recency=(last_day - first_day) / unit,
        T=(end_day - first_day) / unit,
        monetary=monetary,
        period=period,
        calibration_end=end,
        excluded_customers=len(transactions.customer_ids) - len(first_idx),
    )


# --- BG/NBD -----------------------------------------------------------------------------------


def _distinct_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct rows of aligned columns, how often each occurs, and each input row's index
    into them. Hash-based (pandas factorize), so linear in the rows: sorting a million rows,
    as ``np.unique(axis=0)`` does, costs more than the whole fit."""
    cols = [np.asarray(col, dtype=float) for col in columns]
    n = len(cols[0])
    key = np.zeros(n, dtype=np.int64)
    for col in cols:
        codes, uniques = pd.factorize(col)
        # Re-factorising keeps the combined key below n x (distinct values): no overflow.
        key = pd.factorize(key)[0].astype(np.int64) * len(uniques) + codes
    inverse, distinct = pd.factorize(key)
    first = np.empty(len(distinct), dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)  # the first row of each distinct key
    counts = np.bincount(inverse, minlength=len(distinct)).astype(float)
    return [col[first] for col in cols], counts, inverse.astype(np.int64)


def bgnbd_loglik_terms(params, x, t_x, T):
    """Per-row log-likelihood of BG/NBD and its gradient with respect to (r, alpha, a, b)."""
    # Special functions of x only are evaluated once per distinct x (there are few).
    ux, at_x = np.unique(x, return_inverse=True)
    return _bgnbd_terms(params, x, t_x, T, ux, at_x.ravel())


def _bgnbd_terms(params, x, t_x, T, ux, at_x):
    r, alpha, a, b = params
    buying = x > 0
    a1 = (gammaln(r + ux) - gammaln(r))[at_x] + r * np.log(alpha)
    a2 = (betaln(a, b + ux) - betaln(a, b))[at_x]
    log_at, log_ax = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_at
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(buying, np.log(a) - np.log(b + x - 1) - (r + x) * log_ax, -np.inf)
    tail = np.logaddexp(a3, a4)
    w = np.exp(a4 - tail)  # share of the "dropped out after the last purchase" branch
    d_r = (digamma(r + ux) - digamma(r))[at_x] + np.log(alpha) - (1 - w) * log_at - w * log_ax
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    psi_abx = digamma(a + b + ux)[at_x]
    d_a = digamma(a + b) - psi_abx + w / a
    with np.errstate(divide="ignore", invalid="ignore"):
        drop_b = np.where(buying, w / (b + x - 1), 0.0)
    d_b = (digamma(b + ux) - digamma(b))[at_x] - psi_abx + digamma(a + b) - drop_b
    return a1 + a2 + tail, (d_r, d_alpha, d_a, d_b)


def fit_bgnbd(frequency, recency, T) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters (L-BFGS-B on log-parameters)."""
    (x, t_x, age), weight, _inverse = _distinct_rows(frequency, recency, T)
    if len(x) == 0 or not (x > 0).any():
        raise ValidationError.for_field(
            "transactions", _("No customer bought more than once: BG/NBD cannot be fitted.")
        )
    # Time is rescaled so the largest age is 10: the optimiser then starts near the answer
    # whatever the period.
    scale = 10.0 / max(float(age.max()), 1e-9)
    t_x, age = t_x * scale, age * scale
    total = weight.sum()
    ux, at_x = np.unique(x, return_inverse=True)

    def objective(log_params):
        params = np.exp(log_params)
        ll, grads = _bgnbd_terms(params, x, t_x, age, ux, at_x.ravel())
        grad = np.array([(g * weight).sum() for g in grads]) * params
        return -(ll * weight).sum() / total, -grad / total

    res = _minimise(objective, np.zeros(4))
    r, alpha, a, b = np.exp(res.x)
    alpha /= scale
    ll, _grads = bgnbd_loglik_terms((r, alpha, a, b), x, t_x / scale, age / scale)
    return BGNBDParams(float(r), float(alpha), float(a), float(b), float((ll * weight).sum()))


def _minimise(objective, x0):
    # One BLAS thread: the optimiser's tiny vector operations otherwise wake the BLAS thread
    # pool at every step, which costs more than the likelihood on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        res = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-15, 15)] * len(x0),
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
        )
    if not np.isfinite(res.fun) or (not res.success and "ABNORMAL" not in str(res.message)):
        raise ValidationError.for_field(
            "transactions",
            _("The model could not be fitted to this data (%(reason)s).") % {"reason": res.message},
        )
    return res


def p_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """Probability that each customer has not dropped out by the end of calibration."""
    x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (
            np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        )
    odds = np.where(x > 0, np.exp(np.where(x > 0, log_ratio, 0.0)), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(params: BGNBDParams, t: float, frequency, recency, T) -> np.ndarray:
    """Expected number of purchases in the next ``t`` periods, given each customer's history."""
    x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    if t <= 0:
        return np.zeros(len(x))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - np.exp((r + x) * np.log((alpha + age) / (alpha + age + t))) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(
            x > 0,
            a / np.where(x > 0, b + x - 1, 1.0) * ((alpha + age) / (alpha + t_x)) ** (r + x),
            0.0,
        )
    return head * body / (1 + odds)


# --- Gamma-Gamma -------------------------------------------------------------------------------


def _gamma_gamma_objective(x: np.ndarray, m: np.ndarray):
    """Mean negative log-likelihood of Gamma-Gamma and its gradient in log-parameters.

    Only log(x m + gamma) needs a pass over the customers at each step: the other terms are
    sums fixed by the data or functions of x alone, evaluated once per distinct x."""
    n = len(x)
    ux, at_x = np.unique(x, return_inverse=True)
    per_x = np.bincount(at_x.ravel(), minlength=len(ux)).astype(float)  # customers with each x
    spend = x * m
    log_data = np.log(m) + np.log(x)
    sum_x_log_data, sum_log_m = x @ log_data, np.log(m).sum()

    def objective(log_params):
        p, q, g = np.exp(log_params)
        log_total = np.log(spend + g)
        inv_total = 1.0 / (spend + g)
        pxq = p * ux + q
        ll = (
            per_x @ (gammaln(pxq) - gammaln(p * ux))
            - n * gammaln(q)
            + n * q * np.log(g)
            + p * sum_x_log_data
            - sum_log_m
            - p * (x @ log_total)
            - q * log_total.sum()
        )
        psi = digamma(pxq)
        d_p = (per_x * ux) @ (psi - digamma(p * ux)) + sum_x_log_data - x @ log_total
        d_q = per_x @ psi - n * digamma(q) + n * np.log(g) - log_total.sum()
        d_g = n * q / g - p * (x @ inv_total) - q * inv_total.sum()
        grad = np.array([d_p * p, d_q * q, d_g * g])
        return -ll / n, -grad / n

    return objective


def fit_gamma_gamma(frequency, monetary) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma spend parameters over customers with repeat purchases
    and a positive mean spend."""
    frequency, monetary = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    use = (frequency > 0) & (monetary > 0)
    if use.sum() < 2:
        raise ValidationError.for_field(
            "amount",
            _(
                "Fewer than two customers with repeat purchases of positive value: "
                "the spend model cannot be fitted."
            ),
        )
    x, m = frequency[use], monetary[use]
    scale = 1.0 / float(m.mean())  # spend in units of its mean, so the start is near
    objective = _gamma_gamma_objective(x, m * scale)
    res = _minimise(objective, np.zeros(3))
    p, q, g = np.exp(res.x)
    g /= scale
    loglik = -_gamma_gamma_objective(x, m)(np.log([p, q, g]))[0] * len(x)
    return GammaGammaParams(float(p), float(q), float(g), float(loglik))


def expected_spend(params: GammaGammaParams, frequency, monetary) -> np.ndarray:
    """Expected mean transaction value of each customer (the population mean for a customer
    without repeat purchases)."""
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    p, q, g = params.p, params.q, params.gamma
    return (p * (g + x * m)) / (p * x + q - 1)


# --- Lifetime value ----------------------------------------------------------------------------


def lifetime_value(
    bgnbd: BGNBDParams,
    spend: np.ndarray,
    frequency,
    recency,
    T,
    *,
    horizon: int,
    period: str,
    discount_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over ``horizon`` periods and their discounted value: the expected
    purchases of each step times the expected spend, discounted at the yearly
    ``discount_rate`` from the step's end. A step is one period, or 1/52 of the horizon when
    that is longer (a year of days is discounted week by week, not 365 times).
    Returns (expected_purchases, clv). Evaluated once per distinct (x, t_x, T)."""
    (x, t_x, age), _counts, inverse = _distinct_rows(frequency, recency, T)
    years_per_period = DAYS_PER_PERIOD[period] / DAYS_PER_YEAR
    value_factor = np.zeros(len(x))
    previous = np.zeros(len(x))
    steps = min(horizon, MAX_STEPS)
    for step_end in np.linspace(0, horizon, steps + 1)[1:]:
        cumulative = expected_purchases(bgnbd, float(step_end), x, t_x, age)
        discount = (1 + discount_rate) ** (step_end * years_per_period)
        value_factor += (cumulative - previous) / discount
        previous = cumulative
    return previous[inverse], value_factor[inverse] * np.asarray(spend, dtype=float)


@dataclass(frozen=True)
class CLVResult:
    summary: Summary
    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    fit_seconds: float
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray

    def report(self) -> dict:
        return {
            "customers": len(self.summary.frequency),
            "customers_with_repeat_purchases": int((self.summary.frequency > 0).sum()),
            "customers_after_calibration_end": self.summary.excluded_customers,
            "period": self.summary.period,
            "calibration_end": self.summary.calibration_end.isoformat(),
            "bgnbd": asdict(self.bgnbd),
            "gamma_gamma": asdict(self.gamma_gamma),
            "fit_seconds": round(self.fit_seconds, 4),
        }


def run_clv(
    transactions: Transactions,
    *,
    period: str = "week",
    calibration_end: date | None = None,
    horizon: int | None = None,
    discount_rate: float = 0.10,
) -> CLVResult:
    """Fit BG/NBD and Gamma-Gamma on the calibration period and predict each customer's
    purchases, spend and discounted value over the horizon (default: one year). Pure: reads
    its input, writes nothing."""
    if horizon is not None and horizon < 0:
        raise ValidationError.for_field("horizon", _("The horizon must not be negative."))
    if discount_rate <= -1:
        raise ValidationError.for_field("discount_rate", _("The discount rate must be above -1."))
    summary = summarise(transactions, period=period, calibration_end=calibration_end)
    if horizon is None:
        horizon = round(DAYS_PER_YEAR / DAYS_PER_PERIOD[period])
    started = time.perf_counter()
    bgnbd = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    gg = fit_gamma_gamma(summary.frequency, summary.monetary)
    fit_seconds = time.perf_counter() - started
    spend = expected_spend(gg, summary.frequency, summary.monetary)
    purchases, value = lifetime_value(
        bgnbd,
        spend,
        summary.frequency,
        summary.recency,
        summary.T,
        horizon=horizon,
        period=period,
        discount_rate=discount_rate,
    )
    return CLVResult(
        summary=summary,
        bgnbd=bgnbd,
        gamma_gamma=gg,
        fit_seconds=fit_seconds,
        p_alive=p_alive(bgnbd, summary.frequency, summary.recency, summary.T),
        expected_purchases=purchases,
        expected_spend=spend,
        clv=value,
    )


def _day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _date_from_day(day: int) -> date:
    return np.datetime64(day, "D").astype(date)
