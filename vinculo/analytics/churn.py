"""Churn (at-risk) propensity: the probability that a customer who bought in the last year
makes no purchase in the next ``horizon`` days.

Time split (so the reported quality is what the model does on a future it has not seen):

- train on the cutoff ``as_of - 2·horizon``: features as of that day, label = no purchase in
  the following ``horizon`` days;
- validate on the cutoff ``as_of - horizon`` (labels known up to ``as_of``): AUC, lift in
  the top decile, Brier score and reliability bins go to the run's metrics;
- refit on both cutoffs and score the customers active as of ``as_of``.

Each scored customer gets ``scores["churn"] = {"p", "band", "reasons", "as_of", "run"}``;
the reasons are the three features that move the probability most (see ``predict_model``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.analytics import predict_data as data
from vinculo.analytics import predict_model as pm
from vinculo.analytics.runs import model_run, publish_scores
from vinculo.core.errors import ValidationError

HIGH_AT = 0.6
MEDIUM_AT = 0.3


@dataclass(frozen=True)
class ChurnResult:
    run_id: int
    version: int
    metrics: dict
    summary: dict
    scores: dict[int, dict]


def band(p: float, *, high_at: float = HIGH_AT, medium_at: float = MEDIUM_AT) -> str:
    if p >= high_at:
        return "high"
    return "medium" if p >= medium_at else "low"


def check_window(*, horizon: int, active_days: int) -> None:
    if not 7 <= horizon <= 730:
        raise ValidationError.for_field(
            "horizon", _("The horizon is a number of days from 7 to 730.")
        )
    if not 30 <= active_days <= 3650:
        raise ValidationError.for_field(
            "active_days", _("Active days is a number of days from 30 to 3650.")
        )


def labelled(frames: data.Frames, cutoff: dt.date, horizon: int, active_days: int):
    """Features as of ``cutoff`` of the customers active then, and 1 for those who did not
    buy in the ``horizon`` days after it."""
    customers = data.active_customers(frames, cutoff, active_days)
    X = data.features(frames, cutoff, customers)
    bought = data.bought_in(frames, cutoff, cutoff + dt.timedelta(horizon))
    y = (~customers.isin(bought)).astype(int)
    return X, np.asarray(y)


def run_churn(
    *,
    as_of: dt.date | None = None,
    horizon: int = 90,
    active_days: int = 365,
    high_at: float = HIGH_AT,
    medium_at: float = MEDIUM_AT,
    write: bool = True,
) -> ChurnResult:
    """Train, validate and score the churn model; record the run and (unless ``write`` is
    False) write each active customer's score. A refused or failed run writes no score."""
    check_window(horizon=horizon, active_days=active_days)
    as_of = as_of or timezone.localdate()
    params = {"horizon": horizon, "active_days": active_days, "high_at": high_at}
    params["medium_at"] = medium_at
    with model_run("churn", params=params, as_of=as_of) as run:
        frames = data.load(as_of=as_of, lines=False)
        train_cut = as_of - dt.timedelta(2 * horizon)
        valid_cut = as_of - dt.timedelta(horizon)
        X_train, y_train = labelled(frames, train_cut, horizon, active_days)
        X_valid, y_valid = labelled(frames, valid_cut, horizon, active_days)
        data.require_both_classes(y_train, what=_("churn"))
        model, kind = pm.fit_classifier(X_train, y_train)
        validation = data.evaluate(y_valid, pm.predict(model, X_valid)) if len(y_valid) else {}
        # Refit on both cutoffs: the newest labelled behaviour counts for today's scores.
        final, kind = pm.fit_classifier(
            pd.concat([X_train, X_valid]), np.concatenate([y_train, y_valid])
        )
        current = data.active_customers(frames, as_of, active_days)
        X_now = data.features(frames, as_of, current)
        p = pm.predict(final, X_now) if len(X_now) else np.array([])
        reasons = pm.top_reasons(X_now, pm.effects(final, X_now, p)) if len(X_now) else []
        scores = {
            int(cid): {
                "p": round(float(pi), 4),
                "band": band(float(pi), high_at=high_at, medium_at=medium_at),
                "reasons": reasons[i],
                "as_of": as_of.isoformat(),
                "run": run.version,
            }
            for i, (cid, pi) in enumerate(zip(current, p, strict=True))
        }
        run.metrics = {
            "model": kind,
            "train": {"cutoff": train_cut.isoformat(), **_counts(y_train)},
            "validation": {"cutoff": valid_cut.isoformat(), **validation},
            "features": list(X_now.columns),
            "feature_sets_skipped": sorted(set(data.OPTIONAL_FACTS) - set(frames.optional)),
        }
        run.summary = _summary(scores)
        run.customers_scored = publish_scores("churn", scores) if write else 0
    return ChurnResult(run.pk, run.version, run.metrics, run.summary, scores)


def _counts(y: np.ndarray) -> dict:
    return {"n": len(y), "positive_rate": round(float(np.mean(y)), 4) if len(y) else None}


def _summary(scores: dict[int, dict]) -> dict:
    bands = Counter(s["band"] for s in scores.values())
    reasons = Counter(r["feature"] for s in scores.values() for r in s["reasons"][:1])
    ps = [s["p"] for s in scores.values()]
    return {
        "customers": len(scores),
        "bands": {b: bands.get(b, 0) for b in ("high", "medium", "low")},
        "mean_p": round(float(np.mean(ps)), 4) if ps else None,
        "top_reasons": dict(reasons.most_common(5)),
    }
