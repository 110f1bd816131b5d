"""Inputs of the predictive models (churn, propensity, CLV on CRM orders): the warehouse read
once into frames, customer features as of any cutoff day, and the evaluation metrics.

Everything is computed *as of a cutoff*: only orders, interactions and leads dated on or
before the cutoff are used, so a model trained on an old cutoff never sees its own future
(the time split of ``churn`` and ``propensity`` rests on that). Optional facts (cases,
campaign touches) are used when the warehouse has them and skipped otherwise; the run's
metrics list which feature sets were used."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from vinculo.analytics import warehouse
from vinculo.analytics.warehouse.marts import INTERNAL, REVENUE_STATUSES
from vinculo.core.errors import ValidationError

TREND_DAYS = 90
WINDOW_DAYS = 365  # interactions, cases and campaign touches are counted over the last year
TOP_SOURCES = 8
TOP_OUTCOMES = 8
# Optional facts: the first existing table with a customer_id and one of the date columns.
OPTIONAL_FACTS = {
    "cases": (("fact_case", "fact_service_case"), ("opened_date", "created_date")),
    "campaigns": (
        ("fact_campaign_touch", "fact_campaign_event", "fact_message"),
        ("occurred_date", "sent_date", "created_date"),
    ),
}


@dataclass
class Frames:
    orders: pd.DataFrame  # order_id, customer_id, day (datetime64), revenue, margin
    lines: pd.DataFrame  # customer_id, day, category, product_id, revenue, margin
    interactions: pd.DataFrame  # customer_id, day, channel, outcome
    customers: pd.DataFrame  # customer_id, acquired (datetime64), source
    optional: dict[str, pd.DataFrame] = field(default_factory=dict)  # customer_id, day
    products: pd.DataFrame | None = None  # product_id, sku, name, active

    @property
    def channels(self) -> list[str]:
        return sorted(self.interactions["channel"].dropna().unique().tolist())

    @property
    def outcomes(self) -> list[str]:
        """The most frequent interaction outcomes (calls answered, not interested...)."""
        counts = self.interactions["outcome"].fillna("").value_counts()
        return sorted(o for o in counts.index[: TOP_OUTCOMES + 1] if o)[:TOP_OUTCOMES]

    @property
    def sources(self) -> list[str]:
        counts = self.customers["source"].fillna("").value_counts()
        return [s for s in counts.index[:TOP_SOURCES] if s]


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def load(*, as_of: dt.date, lines: bool = True) -> Frames:
    """Read what the models need from the warehouse (orders up to ``as_of`` included);
    order lines (by category) only if ``lines``: churn and CLV do without them."""
    with warehouse.connect(read_only=True) as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        orders = con.execute(
            f"""
            SELECT o.order_id, o.customer_id, CAST(o.ordered_date AS TIMESTAMP) AS day,
                   CAST(coalesce(s.revenue, 0) AS DOUBLE) AS revenue,
                   CAST(coalesce(s.margin, 0) AS DOUBLE) AS margin
            FROM fact_order o JOIN dim_customer c USING (customer_id)
            LEFT JOIN (SELECT order_id, sum(revenue) AS revenue, sum(margin) AS margin
                       FROM fact_sales WHERE is_revenue GROUP BY order_id) s USING (order_id)
            WHERE o.status IN {_in(REVENUE_STATUSES)} AND c.merged_into_id IS NULL
              AND o.ordered_date <= ?
            """,
            [as_of],
        ).df()
        line_frame = con.execute(
            f"""
            SELECT f.customer_id, CAST(f.ordered_date AS TIMESTAMP) AS day,
                   p.category_l1 AS category, f.product_id,
                   CAST(f.revenue AS DOUBLE) AS revenue, CAST(f.margin AS DOUBLE) AS margin
            FROM fact_sales f JOIN dim_product p USING (product_id)
            WHERE f.is_revenue AND NOT f.is_component AND p.category_l1 IS NOT NULL
              AND f.ordered_date <= ? {"" if lines else "AND false"}
            """,
            [as_of],
        ).df()
        products = con.execute("SELECT product_id, sku, name, active FROM dim_product").df()
        interactions = con.execute(
            "SELECT customer_id, CAST(occurred_date AS TIMESTAMP) AS day, channel, outcome "
            "FROM fact_interaction WHERE channel <> ? AND occurred_date <= ?",
            [INTERNAL, as_of],
        ).df()
        customers = con.execute(
            """
            SELECT c.customer_id, CAST(c.acquired_date AS TIMESTAMP) AS acquired,
                   coalesce(l.source, c.acquisition_source, '') AS source
            FROM dim_customer c
            LEFT JOIN (SELECT customer_id, arg_min(source, created_at) AS source
                       FROM fact_lead WHERE customer_id IS NOT NULL GROUP BY customer_id) l
                   USING (customer_id)
            WHERE c.merged_into_id IS NULL
            """
        ).df()
        optional = {}
        for name, (candidates, date_columns) in OPTIONAL_FACTS.items():
            frame = _optional(con, tables, candidates, date_columns, as_of)
            if frame is not None:
                optional[name] = frame
    _share_text(line_frame, "category")
    _share_text(interactions, "channel", "outcome")
    _share_text(customers, "source")
    return Frames(orders, line_frame, interactions, customers, optional, products)


def _share_text(frame: pd.DataFrame, *columns: str) -> None:
    """Make each text column hold one Python string per distinct value, shared by its rows,
    instead of the one string per row the warehouse's result gives: the same values and
    dtype, ~1 GB less held through a model run at 1M customers (9.3M order lines' and
    5M interactions' few categories, channels and outcomes; docs/warehouse.md)."""
    for column in columns:
        values = frame[column].to_numpy(dtype=object)
        codes, uniques = pd.factorize(values)
        shared = np.asarray(uniques, dtype=object)
        out = values.copy()  # missing values (None, NaN) stay what they were
        found = codes >= 0
        out[found] = shared[codes[found]]
        frame[column] = out


def _optional(con, tables, candidates, date_columns, as_of) -> pd.DataFrame | None:
    for table in candidates:
        if table not in tables:
            continue
        cols = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        }
        date_col = next((c for c in date_columns if c in cols), None)
        if "customer_id" in cols and date_col:
            return con.execute(
                f'SELECT customer_id, CAST("{date_col}" AS TIMESTAMP) AS day FROM "{table}" '
                f'WHERE customer_id IS NOT NULL AND "{date_col}" <= ?',
                [as_of],
            ).df()
    return None


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def active_customers(frames: Frames, cutoff: dt.date, active_days: int) -> pd.Index:
    """Customers with a purchase in the ``active_days`` up to the cutoff (included)."""
    o = frames.orders
    recent = o[(o["day"] <= _ts(cutoff)) & (o["day"] > _ts(cutoff - dt.timedelta(active_days)))]
    return pd.Index(np.sort(recent["customer_id"].unique()), name="customer_id")


def bought_in(frames: Frames, start: dt.date, end: dt.date) -> pd.Index:
    """Customers with a purchase after ``start`` and on or before ``end``."""
    o = frames.orders
    window = o[(o["day"] > _ts(start)) & (o["day"] <= _ts(end))]
    return pd.Index(window["customer_id"].unique())


def features(frames: Frames, cutoff: dt.date, customers: pd.Index) -> pd.DataFrame:
    """One row per customer (index ``customer_id``), only data dated on or before the cutoff."""
    c = _ts(cutoff)
    out = pd.DataFrame(index=customers)
    o = frames.orders[frames.orders["day"] <= c]
    g = o.groupby("customer_id")
    out["recency_days"] = (c - g["day"].max()).dt.days
    out["frequency"] = g.size()
    out["monetary"] = g["revenue"].sum()
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    first = g["day"].min()
    acquired = frames.customers.set_index("customer_id")["acquired"].reindex(customers)
    start = pd.concat([first.reindex(customers), acquired], axis=1).min(axis=1)
    out["tenure_days"] = (c - start).dt.days
    last = o[o["day"] > c - pd.Timedelta(days=TREND_DAYS)].groupby("customer_id")["revenue"]
    prior = o[
        (o["day"] > c - pd.Timedelta(days=2 * TREND_DAYS))
        & (o["day"] <= c - pd.Timedelta(days=TREND_DAYS))
    ].groupby("customer_id")["revenue"]
    out["spend_last_90"] = last.sum()
    out["spend_prior_90"] = prior.sum()
    out["orders_last_90"] = last.size()
    out = out.fillna({"frequency": 0, "monetary": 0, "spend_last_90": 0, "spend_prior_90": 0})
    out["orders_last_90"] = out["orders_last_90"].fillna(0)
    out["trend_90"] = out["spend_last_90"] - out["spend_prior_90"]
    year_ago = c - pd.Timedelta(days=WINDOW_DAYS)
    i = frames.interactions
    i = i[(i["day"] <= c) & (i["day"] > year_ago)]
    per_channel = i.groupby(["customer_id", "channel"]).size().unstack(fill_value=0)
    for channel in frames.channels:
        column = per_channel[channel] if channel in per_channel else pd.Series(dtype=float)
        out[f"interactions_{channel}"] = column.reindex(customers).fillna(0)
    per_outcome = i.groupby(["customer_id", "outcome"]).size().unstack(fill_value=0)
    for outcome in frames.outcomes:
        column = per_outcome[outcome] if outcome in per_outcome else pd.Series(dtype=float)
        out[f"outcome_{outcome}"] = column.reindex(customers).fillna(0)
    last_contact = frames.interactions[frames.interactions["day"] <= c].groupby("customer_id")
    out["days_since_contact"] = (c - last_contact["day"].max()).dt.days
    for name, frame in frames.optional.items():
        window = frame[(frame["day"] <= c) & (frame["day"] > year_ago)]
        out[f"{name}_365"] = window.groupby("customer_id").size().reindex(customers).fillna(0)
    source = frames.customers.set_index("customer_id")["source"].reindex(customers).fillna("")
    for s in frames.sources:
        out[f"source_{s}"] = (source == s).astype(float)
    # Never bought / never contacted: a long time ago rather than a missing value.
    out["recency_days"] = out["recency_days"].fillna(10 * WINDOW_DAYS)
    out["days_since_contact"] = out["days_since_contact"].fillna(10 * WINDOW_DAYS)
    return out.astype(float).fillna(0.0)


def require_both_classes(y: np.ndarray, *, what: str) -> None:
    if len(y) == 0 or y.min() == y.max():
        raise ValidationError.for_field(
            "horizon",
            _(
                "Not enough history to train the %(what)s model: the training cutoff needs "
                "customers with and without the outcome (%(n)d customers, %(pos)d positive). "
                "Use a shorter horizon or load more orders."
            )
            % {"what": what, "n": len(y), "pos": int(np.sum(y))},
        )


# --- evaluation --------------------------------------------------------------------------------


def evaluate(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> dict:
    """AUC, lift in the top decile, Brier score and reliability bins (mean predicted vs
    observed rate in equal-width probability bins)."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    both = 0 < y.sum() < len(y)
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    base = y.mean() if len(y) else 0.0
    reliability = []
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    for b in range(bins):
        mask = which == b
        if mask.any():
            reliability.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "n": int(mask.sum()),
                    "predicted": round(float(p[mask].mean()), 4),
                    "observed": round(float(y[mask].mean()), 4),
                }
            )
    return {
        "n": len(y),
        "positive_rate": round(float(base), 4),
        "auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "lift_top_decile": round(float(y[top].mean() / base), 3) if base > 0 else None,
        "brier": round(float(brier_score_loss(y, p)), 4) if len(y) else None,
        "reliability": reliability,
    }
