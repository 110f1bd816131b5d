"""Habit change: customers whose purchase rhythm, basket or channel changed markedly, and a
reactivation list with the reason per customer.

Each customer's orders that brought revenue are split at ``as_of − recent_days`` into their
history and their recent behaviour. Only customers with at least ``min_history`` orders in
their history are judged (fewer say nothing about a habit).

- rhythm: *lapsed* when the days since the last order exceed ``lapse_factor`` × their usual
  interval (the median gap between historical orders, at least 30 days); *slower* / *faster*
  when the median gap of recent orders is at least twice / at most half the usual one;
- basket: the total-variation distance between the category mix (revenue share per top-level
  category) of recent and historical orders is at least ``basket_distance``;
- channel: the channel of most recent orders (two or more, ≥ 60 %) is not the usual one.

The reactivation list holds the lapsed and slower customers, biggest spenders first."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from vinculo.analytics import segmentation as seg
from vinculo.analytics import warehouse
from vinculo.analytics.runs import model_run
from vinculo.analytics.warehouse.marts import REVENUE_STATUSES

PARAMS = {
    "recent_days": 180,
    "min_history": 3,
    "lapse_factor": 2.5,
    "basket_distance": 0.5,
    "channel_share": 0.6,
}
REACTIVATE = {"lapsed", "slower"}
LIST_SIZE = 200


def _orders() -> pd.DataFrame:
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    return warehouse.query_frame(
        f"SELECT customer_id, order_id, ordered_date, channel FROM fact_order "
        f"WHERE status IN ({statuses}) AND customer_id IS NOT NULL "
        f"ORDER BY customer_id, ordered_at, order_id"
    )


def _category_mix() -> pd.DataFrame:
    return warehouse.query_frame(
        """
        SELECT s.customer_id, s.ordered_date, coalesce(p.category_l1, '') AS category,
               sum(s.revenue)::DOUBLE AS revenue
        FROM fact_sales s LEFT JOIN dim_product p USING (product_id)
        WHERE s.is_revenue AND NOT s.is_component GROUP BY ALL
        """
    )


def rhythm(orders: pd.DataFrame, as_of, p: dict) -> pd.DataFrame:
    """Usual and recent intervals, days since the last order and the rhythm verdict."""
    o = orders.copy()
    o["day"] = pd.to_datetime(o["ordered_date"])
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=p["recent_days"])
    o["gap"] = o.groupby("customer_id")["day"].diff().dt.days
    o["recent"] = o["day"] >= cutoff
    g = o.groupby("customer_id")
    r = pd.DataFrame(
        {
            "history_orders": (~o["recent"]).groupby(o["customer_id"]).sum(),
            "last": g["day"].max(),
            "usual": o[~o["recent"]].groupby("customer_id")["gap"].median(),
            "recent_gap": o[o["recent"]].groupby("customer_id")["gap"].median(),
        }
    )
    r = r[r["history_orders"] >= p["min_history"]].copy()
    r["since"] = (pd.Timestamp(as_of) - r["last"]).dt.days
    usual = r["usual"].clip(lower=30)
    r["lapsed"] = r["since"] > p["lapse_factor"] * usual
    # Gaps under a week (several orders on one day) say nothing about a rhythm.
    week = r["usual"].clip(lower=7)
    r["slower"] = ~r["lapsed"] & (r["recent_gap"] >= 2 * week)
    r["faster"] = r["recent_gap"] <= 0.5 * week
    return r


def basket_change(mix: pd.DataFrame, as_of, p: dict) -> pd.DataFrame:
    """Per customer: distance between recent and historical category mix, top categories."""
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=p["recent_days"])
    mix = mix[mix["category"] != ""].copy()
    mix["recent"] = pd.to_datetime(mix["ordered_date"]) >= cutoff
    wide = mix.pivot_table(
        index=["customer_id", "recent"], columns="category", values="revenue", aggfunc="sum"
    ).fillna(0.0)
    shares = wide.div(wide.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    if shares.empty:
        return pd.DataFrame(columns=["distance", "before", "now"])
    shares = shares.reset_index()
    before = shares[~shares["recent"]].set_index("customer_id").drop(columns="recent")
    now = shares[shares["recent"]].set_index("customer_id").drop(columns="recent")
    both = before.index.intersection(now.index)
    before, now = before.loc[both], now.loc[both]
    return pd.DataFrame(
        {
            "distance": 0.5 * (before - now).abs().sum(axis=1),
            "before": before.idxmax(axis=1),
            "now": now.idxmax(axis=1),
        }
    )


def channel_change(orders: pd.DataFrame, as_of, p: dict) -> pd.DataFrame:
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=p["recent_days"])
    o = orders.assign(recent=pd.to_datetime(orders["ordered_date"]) >= cutoff)

    def top(frame):
        counts = frame.groupby(["customer_id", "channel"]).size().rename("n").reset_index()
        counts["share"] = counts["n"] / counts.groupby("customer_id")["n"].transform("sum")
        counts["total"] = counts.groupby("customer_id")["n"].transform("sum")
        counts = counts.sort_values(["customer_id", "n", "channel"], ascending=[True, False, True])
        return counts.drop_duplicates("customer_id").set_index("customer_id")

    before, now = top(o[~o["recent"]]), top(o[o["recent"]])
    both = before.index.intersection(now.index)
    out = pd.DataFrame({"before": before.loc[both, "channel"], "now": now.loc[both, "channel"]})
    out["switched"] = (
        (out["before"] != out["now"])
        & (now.loc[both, "total"] >= 2)
        & (now.loc[both, "share"] >= p["channel_share"])
    )
    return out


def compute(as_of, params: dict | None = None) -> dict[int, list[dict]]:
    """Customer id → reasons (kind, text) for every customer judged (empty: no change)."""
    p = {**PARAMS, **(params or {})}
    orders = _orders()
    r = rhythm(orders, as_of, p)
    reasons: dict[int, list[dict]] = {int(c): [] for c in r.index}
    for cid, row in r.iterrows():
        nums = {"usual": int(row.usual), "days": int(row.since)}
        if row.lapsed:
            text = _("Usually buys every %(usual)d days; nothing for %(days)d days.") % nums
            reasons[cid].append({"kind": "lapsed", "text": text})
        elif row.slower or row.faster:
            nums["recent"] = int(row.recent_gap)
            kind = "slower" if row.slower else "faster"
            text = (
                _("Buys less often: every %(recent)d days now, every %(usual)d before.")
                if row.slower
                else _("Buys more often: every %(recent)d days now, every %(usual)d before.")
            ) % nums
            reasons[cid].append({"kind": kind, "text": text})
    b = basket_change(_category_mix(), as_of, p)
    for cid, row in b[b["distance"] >= p["basket_distance"]].iterrows():
        if cid in reasons:
            text = _("Basket changed: now mostly %(now)s, before mostly %(before)s.") % {
                "now": row.now,
                "before": row.before,
            }
            reasons[cid].append({"kind": "basket", "text": text, "distance": seg.r2(row.distance)})
    ch = channel_change(orders, as_of, p)
    for cid, row in ch[ch["switched"]].iterrows():
        if cid in reasons:
            text = _("Switched channel: now %(now)s, before %(before)s.") % {
                "now": row.now,
                "before": row.before,
            }
            reasons[cid].append({"kind": "channel", "text": text})
    return reasons


def run_habits(*, params: dict | None = None, write: bool = True) -> dict:
    """Find habit changes, record the run (counts per reason, the reactivation list) and write
    ``scores["habits"]`` for every customer judged. Idempotent over the same data."""
    as_of = seg.as_of()
    p = {**PARAMS, **(params or {})}
    with model_run("habits", params=p, as_of=as_of) as run:
        reasons = compute(as_of, p)
        c360 = seg.customers_frame("customer_id, name, monetary").set_index("customer_id")
        kinds: dict[str, int] = {}
        for rs in reasons.values():
            for r in rs:
                kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        to_reactivate = [c for c, rs in reasons.items() if {r["kind"] for r in rs} & REACTIVATE]
        to_reactivate.sort(key=lambda c: (-float(c360["monetary"].get(c, 0)), c))
        run.metrics = {
            "customers_judged": len(reasons),
            "changed": sum(1 for rs in reasons.values() if rs),
            "by_reason": kinds,
            "reactivation_list": len(to_reactivate),
        }
        run.summary = {
            "reactivation": [
                {
                    "customer_id": c,
                    "name": str(c360["name"].get(c, "")),
                    "monetary": seg.r2(c360["monetary"].get(c, 0)),
                    "reasons": [r["text"] for r in reasons[c]],
                }
                for c in to_reactivate[:LIST_SIZE]
            ]
        }
        if write:
            flagged = set(to_reactivate)
            scores = {
                c: {
                    "changed": bool(rs),
                    "reactivate": c in flagged,
                    "reasons": rs,
                }
                for c, rs in reasons.items()
            }
            run.customers_scored = seg.write_back("habits", scores)
    return {"reasons": reasons, "reactivation": to_reactivate}
