"""Customer profitability: what each customer brought in net of what serving and winning
them cost, per customer and per segment (RFM segment and cluster), best segments first.

    net contribution = margin (revenue − cost of goods) − service cost − marketing cost

Service cost: the warehouse's cases (``fact_case``) when that table exists — its ``cost``
column if it has one, else ``cost_per_case`` per case; without a cases table it is 0 and
the run's summary says so. Marketing cost: the acquisition cost of the customer's leads."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.utils.translation import gettext as _

from vinculo.analytics import clusters, rfm, warehouse
from vinculo.analytics import segmentation as seg
from vinculo.analytics.runs import model_run

COST_PER_CASE = 25.0


def _tables() -> dict[str, set[str]]:
    rows = warehouse.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["table_name"], set()).add(r["column_name"])
    return out


def service_costs(*, cost_per_case: float) -> tuple[pd.Series, str]:
    """Service cost per customer id, and a note on how it was counted."""
    cases = _tables().get("fact_case")
    if cases is None or "customer_id" not in cases:
        return pd.Series(dtype=float), _(
            "No cases in the warehouse yet: service cost is counted as 0."
        )
    if "cost" in cases:
        sql = "SELECT customer_id, sum(cost)::DOUBLE AS v FROM fact_case GROUP BY 1"
        note = _("Service cost is the recorded cost of the customer's cases.")
    else:
        sql = (
            f"SELECT customer_id, count(*) * {float(cost_per_case)} AS v FROM fact_case GROUP BY 1"
        )
        note = _("Service cost is %(cost)s per case.") % {"cost": cost_per_case}
    df = warehouse.query_frame(sql)
    return df.set_index("customer_id")["v"].astype(float), note


def marketing_costs() -> pd.Series:
    df = warehouse.query_frame(
        "SELECT customer_id, sum(coalesce(acquisition_cost, 0))::DOUBLE AS v FROM fact_lead "
        "WHERE customer_id IS NOT NULL GROUP BY 1"
    )
    return df.set_index("customer_id")["v"].astype(float)


def contribution(*, cost_per_case: float = COST_PER_CASE) -> tuple[pd.DataFrame, str]:
    """Per customer (indexed by id): revenue, margin, orders, service_cost, marketing_cost and
    net_contribution (margin − service cost − marketing cost), with the service-cost note."""
    df = seg.customers_frame("customer_id, revenue, margin, orders").set_index("customer_id")
    df = df.astype({"revenue": float, "margin": float})
    service, note = service_costs(cost_per_case=cost_per_case)
    df["service_cost"] = service.reindex(df.index).fillna(0.0)
    df["marketing_cost"] = marketing_costs().reindex(df.index).fillna(0.0)
    df["net_contribution"] = df["margin"] - df["service_cost"] - df["marketing_cost"]
    return df, note


@dataclass
class ProfitabilityResult:
    frame: pd.DataFrame  # one row per customer
    by_rfm_segment: list[dict]
    by_cluster: list[dict]
    note: str


def compute(*, cost_per_case: float = COST_PER_CASE) -> ProfitabilityResult:
    """Per-customer and per-segment contribution (reads the warehouse; RFM and clusters are
    computed in the same pass so the segments match the data)."""
    df, note = contribution(cost_per_case=cost_per_case)
    buyers, _excluded = seg.buyers_frame()
    if buyers.empty:
        df["rfm_segment"], df["cluster"] = "", -1
    else:
        segments = rfm.compute(buyers).set_index("customer_id")["segment"]
        df["rfm_segment"] = segments.reindex(df.index).fillna("")
        grouped = clusters.compute_cached(buyers)
        df["cluster"] = grouped.labels.reindex(df.index).fillna(-1).astype(int)
    labels = {k: str(v) for k, v in rfm.SEGMENTS.items()}
    labels[""] = _("No orders")
    by_rfm = _rank(df, "rfm_segment", labels)
    names = {c["cluster"]: c["description"] for c in grouped.clusters} if len(buyers) else {}
    names[-1] = _("No orders")
    by_cluster = _rank(df, "cluster", names)
    return ProfitabilityResult(
        frame=df.reset_index(), by_rfm_segment=by_rfm, by_cluster=by_cluster, note=note
    )


def _rank(df: pd.DataFrame, key: str, labels: dict) -> list[dict]:
    """Segments ranked by total net contribution, with per-customer averages."""
    g = df.groupby(key).agg(
        customers=("revenue", "size"),
        revenue=("revenue", "sum"),
        margin=("margin", "sum"),
        service_cost=("service_cost", "sum"),
        marketing_cost=("marketing_cost", "sum"),
        net_contribution=("net_contribution", "sum"),
    )
    g = g.sort_values("net_contribution", ascending=False)
    out = []
    for rank, (code, row) in enumerate(g.iterrows(), start=1):
        out.append(
            {
                "rank": rank,
                "segment": code if isinstance(code, str) else int(code),
                "label": str(labels.get(code, code)),
                "customers": int(row.customers),
                **{c: seg.r2(row[c]) for c in ("revenue", "margin", "service_cost")},
                "marketing_cost": seg.r2(row.marketing_cost),
                "net_contribution": seg.r2(row.net_contribution),
                "net_per_customer": seg.r2(row.net_contribution / row.customers),
            }
        )
    return out


def run_profitability(*, cost_per_case: float = COST_PER_CASE, write: bool = True):
    """Compute profitability, record the run (segments ranked, the service-cost note) and
    write ``scores["profitability"]`` for every customer. Idempotent over the same data."""
    as_of = seg.as_of()
    params = {"cost_per_case": cost_per_case}
    with model_run("profitability", params=params, as_of=as_of) as run:
        result = compute(cost_per_case=cost_per_case)
        df = result.frame
        seg.require_rows(df, what=_("customers"))
        unprofitable = int((df["net_contribution"] < 0).sum())
        run.metrics = {
            "customers": len(df),
            "unprofitable_customers": unprofitable,
            "total_net_contribution": seg.r2(df["net_contribution"].sum()),
        }
        run.summary = {
            "note": result.note,
            "by_rfm_segment": result.by_rfm_segment,
            "by_cluster": result.by_cluster,
        }
        if write:
            cols = ("revenue", "margin", "service_cost", "marketing_cost", "net_contribution")
            scores = {
                int(row.customer_id): {c: seg.r2(getattr(row, c)) for c in cols}
                for row in df.itertuples(index=False)
            }
            run.customers_scored = seg.write_back("profitability", scores)
    return result
