"""CRM adoption and impact (issue #4): per user and per team, how much the CRM is used and
whether the customers it serves are getting better.

- interactions logged per week over the last ``weeks`` weeks (by the user who logged them;
  notes that services write about quotes and orders are not counted);
- data completeness of the customers they own: the share with an email, a phone, a city and
  any custom field filled, and the mean of the four (from ``dim_customer_profile``);
- median response time, in hours, from a customer's inbound interaction to the next
  outbound one with that customer (attributed to the customer's owner; inbound contacts
  without an answer yet are counted as unanswered), over the same window;
- customer profitability by month: margin of their sales (``mart_sales``, by rep) over the
  last ``months`` months, with the trend (least-squares slope, money per month).

A team's figures pool its members' rows (not the mean of their figures). The report is about
users, so nothing is written to customers: the run's summary holds it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from vinculo.analytics import segmentation as seg
from vinculo.analytics import warehouse
from vinculo.analytics.runs import model_run

FIELDS = ("has_email", "has_phone", "has_city", "has_custom_fields")


def _users() -> pd.DataFrame:
    return warehouse.query_frame(
        "SELECT user_id, full_name AS name, team_id, coalesce(team_name, '') AS team "
        "FROM dim_user ORDER BY user_id"
    ).set_index("user_id")


def interactions(as_of: dt.date, weeks: int) -> pd.DataFrame:
    """user_id, week (Monday), interactions: logged in the window, per week."""
    return warehouse.query_frame(
        """
        SELECT user_id, CAST(date_trunc('week', occurred_date) AS DATE) AS week,
               count(*) AS interactions
        FROM fact_interaction
        WHERE user_id IS NOT NULL AND (channel <> 'internal' OR related_id IS NULL)
          AND occurred_date > CAST(? AS DATE) - ? * 7 AND occurred_date <= ?
        GROUP BY ALL
        """,
        [as_of, weeks, as_of],
    )


def completeness() -> pd.DataFrame:
    """One row per owned customer: owner and the four completeness flags."""
    flags = ", ".join(f"coalesce(p.{f}, false)::INTEGER AS {f}" for f in FIELDS)
    return warehouse.query_frame(
        f"""
        SELECT c.owner_id AS user_id, {flags}
        FROM dim_customer c LEFT JOIN dim_customer_profile p USING (customer_id)
        WHERE c.merged_into_id IS NULL AND c.owner_id IS NOT NULL
        """
    )


def responses(as_of: dt.date, weeks: int) -> pd.DataFrame:
    """Inbound interactions in the window with the hours to the next outbound reply."""
    return warehouse.query_frame(
        """
        WITH inbound AS (
            SELECT i.customer_id, i.occurred_at, c.owner_id AS user_id FROM fact_interaction i
            JOIN dim_customer c USING (customer_id)
            WHERE i.direction = 'in' AND c.owner_id IS NOT NULL
              AND i.occurred_date > CAST(? AS DATE) - ? * 7 AND i.occurred_date <= ?
        ), outbound AS (
            SELECT customer_id, occurred_at AS replied_at FROM fact_interaction
            WHERE direction = 'out'
        )
        SELECT n.user_id, epoch(o.replied_at - n.occurred_at) / 3600.0 AS hours
        FROM inbound n ASOF LEFT JOIN outbound o
          ON n.customer_id = o.customer_id AND o.replied_at >= n.occurred_at
        """,
        [as_of, weeks, as_of],
    )


def margins(as_of: dt.date, months: int) -> pd.DataFrame:
    first = (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp().date()
    return warehouse.query_frame(
        "SELECT rep_id AS user_id, month, sum(margin)::DOUBLE AS margin FROM mart_sales "
        "WHERE rep_id IS NOT NULL AND month >= ? AND month <= ? GROUP BY ALL",
        [first, as_of],
    )


def _figures(key: pd.Series, frames: dict, *, weeks: int, months: list) -> pd.DataFrame:
    """Adoption figures grouped by ``key`` (user id → group: the user or their team)."""
    inter, comp, resp, marg = (frames[k].copy() for k in ("i", "c", "r", "m"))
    for f in (inter, comp, resp, marg):
        f["group"] = f["user_id"].map(key)
    out = pd.DataFrame(index=pd.Index(sorted(set(key.dropna())), name="group"))
    out["interactions_per_week"] = inter.groupby("group")["interactions"].sum() / weeks
    out["customers"] = comp.groupby("group").size()
    for f in FIELDS:
        out[f"share_{f.removeprefix('has_')}"] = comp.groupby("group")[f].mean()
    out["completeness"] = out[[f"share_{f.removeprefix('has_')}" for f in FIELDS]].mean(axis=1)
    answered = resp.dropna(subset=["hours"])
    out["median_response_hours"] = answered.groupby("group")["hours"].median()
    out["unanswered"] = resp[resp["hours"].isna()].groupby("group").size()
    marg["month"] = pd.to_datetime(marg["month"])
    monthly = marg.pivot_table(index="group", columns="month", values="margin", aggfunc="sum")
    monthly = monthly.reindex(columns=months).fillna(0.0)
    x = np.arange(len(months), dtype=float)
    out["margin_trend_per_month"] = monthly.apply(
        lambda r: float(np.polyfit(x, r.to_numpy(), 1)[0]) if len(x) > 1 else 0.0, axis=1
    )
    out["margin_by_month"] = monthly.apply(lambda r: [seg.r2(v) for v in r], axis=1)
    return out


def compute(*, as_of: dt.date, weeks: int = 12, months: int = 12) -> dict[str, list[dict]]:
    users = _users()
    frames = {
        "i": interactions(as_of, weeks),
        "c": completeness(),
        "r": responses(as_of, weeks),
        "m": margins(as_of, months),
    }
    start = pd.Timestamp(as_of).to_period("M") - (months - 1)
    month_list = [(start + i).to_timestamp() for i in range(months)]
    by_user = _figures(
        users.index.to_series(index=users.index), frames, weeks=weeks, months=month_list
    )
    by_team = _figures(users["team"].replace("", np.nan), frames, weeks=weeks, months=month_list)
    names = {"user": users["name"].to_dict(), "team": {}}
    return {
        "months": [m.date().isoformat() for m in month_list],
        "users": _rows(by_user, "user", names["user"], months),
        "teams": _rows(by_team, "team", {}, months),
    }


def _rows(df: pd.DataFrame, kind: str, names: dict, months: int) -> list[dict]:
    rows = []
    for key, r in df.iterrows():
        row = {kind: key if isinstance(key, str) else int(key), "name": str(names.get(key, key))}
        for col, value in r.items():
            if col == "margin_by_month":  # a group without sales has no row in the pivot
                row[col] = value if isinstance(value, list) else [0.0] * months
            elif col in ("customers", "unanswered"):
                row[col] = 0 if pd.isna(value) else int(value)
            else:
                row[col] = None if pd.isna(value) else round(float(value), 3)
        rows.append(row)
    return rows


def run_adoption(*, weeks: int = 12, months: int = 12) -> dict:
    """Compute the adoption report and record it as a run (its summary is the report)."""
    as_of = seg.as_of()
    with model_run("adoption", params={"weeks": weeks, "months": months}, as_of=as_of) as run:
        report = compute(as_of=as_of, weeks=weeks, months=months)
        seg.require_rows(pd.DataFrame(report["users"]), what=_("users"))
        active = [u for u in report["users"] if (u["interactions_per_week"] or 0) > 0]
        run.metrics = {
            "users": len(report["users"]),
            "active_users": len(active),
            "teams": len(report["teams"]),
        }
        run.summary = report
    return report
