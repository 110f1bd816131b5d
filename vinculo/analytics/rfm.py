"""RFM: recency, frequency and monetary quintile scores (1–5) and named segments.

Read from the customer 360 mart: ``recency_days`` (days since the last order that brought
revenue), ``frequency`` (such orders) and ``monetary`` (their revenue). Customers without
any such order are left out, counted in the run's metrics, and their old RFM score cleared.

Scores are quintiles of each customer's rank among buyers. Tied customers all take the
lowest rank of their group, so ties get the same score and a single-order customer is F1
however many single-order customers there are (a quintile can then hold more or fewer than
a fifth: with most customers on one order, F has few distinct levels). Recent buyers score 5.

Segments follow the usual R × F grid (M refines the score, not the segment):

    F →      1              2–3                   4             5
    R 5      new            potential loyalists   champions     champions
    R 4      promising      potential loyalists   loyal         loyal
    R 3      about to sleep (F1–2) / need attention (F3)        loyal         loyal
    R 2      hibernating    at risk               at risk       can't lose them
    R 1      lost (F1) / hibernating (F2)  at risk (F3) at risk can't lose them
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from vinculo.analytics import segmentation as seg
from vinculo.analytics.runs import model_run

SEGMENTS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalists": _("Potential loyalists"),
    "new": _("New customers"),
    "promising": _("Promising"),
    "need_attention": _("Need attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cant_lose": _("Can't lose them"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
}


def segment_for(r: int, f: int) -> str:
    """The named segment of an R and an F score (see the grid in the module docstring)."""
    if r >= 4 and f >= 4:
        return "champions" if r == 5 else "loyal"
    if r == 3 and f >= 4:
        return "loyal"
    if r >= 4 and f in (2, 3):
        return "potential_loyalists"
    if r == 5:
        return "new"
    if r == 4:
        return "promising"
    if r == 3:
        return "need_attention" if f == 3 else "about_to_sleep"
    if f == 5:
        return "cant_lose"
    if f >= 3 or (r == 2 and f == 2):
        return "at_risk" if f >= 3 else "hibernating"
    return "lost" if (r, f) == (1, 1) else "hibernating"


# The grid as a 5×5 lookup table: SEGMENT_GRID[r - 1][f - 1].
SEGMENT_GRID = [[segment_for(r, f) for f in range(1, 6)] for r in range(1, 6)]


def quintile(values: pd.Series, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1–5 by quintile of rank; ties share the score of their group's lowest rank."""
    ranks = values.rank(method="min", ascending=higher_is_better).to_numpy()
    pct = (ranks - 1) / len(values)
    return np.clip(np.floor(pct * 5).astype(int) + 1, 1, 5)


@dataclass
class RFMResult:
    frame: pd.DataFrame  # customer_id, recency_days, frequency, monetary, r, f, m, segment
    excluded: int
    summary: dict


def compute(buyers: pd.DataFrame) -> pd.DataFrame:
    """R, F, M scores and the segment of every buyer (pure: no I/O)."""
    df = buyers[["customer_id", "recency_days", "frequency", "monetary"]].copy()
    df["r"] = quintile(df["recency_days"].astype(float), higher_is_better=False)
    df["f"] = quintile(df["frequency"].astype(float))
    df["m"] = quintile(df["monetary"].astype(float))
    grid = np.array(SEGMENT_GRID, dtype=object)
    df["segment"] = grid[df["r"] - 1, df["f"] - 1]
    return df


def summarise(df: pd.DataFrame) -> dict:
    total_revenue = float(df["monetary"].sum()) or 1.0
    by = df.groupby("segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum"))
    segments = {}
    for code, label in SEGMENTS.items():
        n = int(by["customers"].get(code, 0))
        revenue = float(by["revenue"].get(code, 0.0))
        segments[code] = {
            "label": str(label),
            "customers": n,
            "share": round(n / len(df), 4) if len(df) else 0.0,
            "revenue": seg.r2(revenue),
            "revenue_share": round(revenue / total_revenue, 4),
        }
    return {"segments": segments}


def run_rfm(*, write: bool = True) -> RFMResult:
    """Score every buyer in the warehouse, record a run, write ``scores["rfm"]`` back (and
    clear it for customers who no longer have an order). Idempotent over the same data."""
    as_of = seg.as_of()
    with model_run("rfm", params={"quantiles": 5}, as_of=as_of) as run:
        buyers, excluded = seg.buyers_frame()
        seg.require_rows(buyers, what=_("orders"))
        df = compute(buyers)
        summary = summarise(df)
        run.metrics = {
            "customers_scored": len(df),
            "excluded_without_orders": excluded,
            "distinct_scores": {k: int(df[k].nunique()) for k in ("r", "f", "m")},
        }
        run.summary = summary
        if write:
            scores = {
                int(row.customer_id): {
                    "r": int(row.r),
                    "f": int(row.f),
                    "m": int(row.m),
                    "score": f"{row.r}{row.f}{row.m}",
                    "segment": row.segment,
                    "recency_days": int(row.recency_days),
                    "frequency": int(row.frequency),
                    "monetary": seg.r2(row.monetary),
                }
                for row in df.itertuples(index=False)
            }
            run.customers_scored = seg.write_back("rfm", scores)
            _clear_non_buyers(set(scores))
    return RFMResult(frame=df, excluded=excluded, summary=summary)


def _clear_non_buyers(buyers: set[int]) -> None:
    ids = seg.customers_frame("customer_id")["customer_id"].astype(int)
    stale = {int(i): None for i in ids if int(i) not in buyers}
    if stale:
        seg.write_back("rfm", stale)
