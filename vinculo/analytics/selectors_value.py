"""Customer value dashboard data: RFM grid, CLV distribution, cohort retention, the churn-risk
list (record-level visibility applied) and segment profiles. See ``selectors`` for the contract
with the models' runs and scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, FloatField, IntegerField, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from vinculo.analytics.selectors import (
    NONE,
    REVENUE_SQL,
    Dashboard,
    Table,
    choice_labels,
    latest_runs,
    num,
    rows,
    run_hint,
    run_table,
    warehouse_connection,
)
from vinculo.core.numbers import localized_number
from vinculo.customers.models import Customer
from vinculo.customers.selectors import visible_customers
from vinculo.sales.models import Lead

CHURN_LIST = 50
CROSS_SELL_LIST = 50
CROSS_SELL = "cross_sell"  # the score key (analytics.cross_sell.SCORE)
COHORT_MONTHS = 12
CLV_SAMPLE = 200_000  # customers read for the CLV histogram at most


def customer_value(*, user) -> Dashboard:
    """RFM grid, CLV distribution, cohort retention, churn-risk list (customers ``user`` may
    see), segment profiles and the most profitable segments."""
    d = Dashboard()
    with warehouse_connection() as con:
        rfm_from_warehouse = rows(
            con,
            """
            WITH q AS (
                -- Quintile of rank; ties share their group's lowest rank (as rfm.py scores).
                SELECT least(5, 1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1)
                                           / count(*) OVER ()))::INTEGER AS r,
                       least(5, 1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1)
                                           / count(*) OVER ()))::INTEGER AS f, monetary
                FROM mart_customer_360 WHERE orders > 0
            )
            SELECT r, f, count(*) AS customers, CAST(avg(monetary) AS DECIMAL(14,2)) AS monetary
            FROM q GROUP BY r, f ORDER BY r, f
            """,
        )
        d.series["cohorts"] = rows(
            con,
            f"""
            WITH o AS (
                SELECT DISTINCT customer_id,
                       CAST(date_trunc('month', ordered_date) AS DATE) AS month
                FROM fact_order WHERE status IN {REVENUE_SQL}
            ), first AS (
                SELECT customer_id, min(month) AS cohort FROM o GROUP BY 1
            ), cohorts AS (
                SELECT DISTINCT cohort FROM first ORDER BY cohort DESC LIMIT {COHORT_MONTHS}
            ), a AS (
                SELECT f.cohort, datediff('month', f.cohort, o.month) AS age,
                       count(*) AS customers
                FROM o JOIN first f USING (customer_id)
                WHERE f.cohort IN (SELECT cohort FROM cohorts)
                GROUP BY 1, 2
            )
            SELECT a.cohort, a.age, a.customers, s.customers AS size,
                   round(100.0 * a.customers / s.customers, 1) AS retention_pct
            FROM a JOIN a s ON s.cohort = a.cohort AND s.age = 0
            WHERE a.age < {COHORT_MONTHS}
            ORDER BY a.cohort, a.age
            """,
        )
        groups = rows(
            con,
            f"""
            SELECT coalesce(nullif(lifecycle_stage, ''), '{NONE}') AS lifecycle_stage,
                   coalesce(nullif(acquisition_source, ''), '{NONE}') AS source,
                   count(*) AS customers, CAST(sum(revenue) AS DECIMAL(14,2)) AS revenue,
                   CAST(sum(margin) AS DECIMAL(14,2)) AS margin,
                   CAST(sum(margin) / count(*) AS DECIMAL(14,2)) AS margin_per_customer
            FROM mart_customer_360 GROUP BY 1, 2 ORDER BY margin DESC, 1, 2 LIMIT 20
            """,
        )
    runs = latest_runs("rfm", "clusters", "profitability", "churn", "clv", "basket")
    rfm_run = runs["rfm"]
    d.series["rfm"] = _rfm_grid_from_scores() if rfm_run else rfm_from_warehouse
    d.notes["rfm_source"] = (
        _("From the RFM run of %(date)s.")
        % {"date": date_format(rfm_run.as_of or rfm_run.started_at.date(), "DATE_FORMAT")}
        if rfm_run
        else _(
            "Quintiles computed from the warehouse; run “vinculo analytics rfm” for the "
            "scored segments."
        )
    )
    d.add(
        Table(
            "rfm",
            _("RFM grid (recency × frequency quintiles)"),
            [
                ("r", _("Recency (5 = most recent)")),
                ("f", _("Frequency (5 = most orders)")),
                ("customers", _("Customers")),
                ("monetary", _("Average revenue")),
            ],
            d.series["rfm"],
            _("No customer has bought yet."),
        )
    )
    d.add(
        Table(
            "cohorts",
            _("Cohort retention by first-order month"),
            [
                ("cohort", _("First order month")),
                ("age", _("Months later")),
                ("customers", _("Customers buying")),
                ("size", _("Cohort size")),
                ("retention_pct", _("Retention %")),
            ],
            d.series["cohorts"],
            _("No orders yet."),
            percent=("retention_pct",),
        )
    )
    d.series["clv"] = _clv_values()
    if runs["clv"] is None and not d.series["clv"]:
        d.notes["clv"] = run_hint("clv")
    d.add(_churn_table(user, ran=runs["churn"] is not None))
    d.add(_cross_sell_table(user, run=runs["basket"]))
    d.add(run_table("rfm", "segments", "segments", _("RFM segments"), runs=runs))
    d.add(run_table("clusters", "clusters", "clusters", _("Clusters"), "segments", runs=runs))
    profitable = run_table(
        "profitability",
        "by_rfm_segment",
        "profitability",
        _("Most profitable RFM segments (net contribution)"),
        "segments",
        runs=runs,
    )
    d.add(
        run_table(
            "profitability",
            "by_cluster",
            "profitable_clusters",
            _("Most profitable clusters (net contribution)"),
            runs=runs,
        )
    )
    run = runs["profitability"]
    if run and (run.summary or {}).get("note"):
        d.notes["profitability"] = str(run.summary["note"])
    if not profitable.rows:
        profitable = Table(
            "profitability",
            _("Most profitable segments (lifecycle stage × source)"),
            [
                ("lifecycle_stage", _("Lifecycle stage")),
                ("source", _("Source")),
                ("customers", _("Customers")),
                ("revenue", _("Revenue")),
                ("margin", _("Margin")),
                ("margin_per_customer", _("Margin per customer")),
            ],
            groups,
            _("No customers yet."),
            # A customer's source is free text; those captured from a lead carry its code.
            labels={
                "lifecycle_stage": choice_labels(Customer.Stage),
                "source": choice_labels(Lead.Source),
            },
        )
    d.add(profitable)
    return d


def _rfm_grid_from_scores() -> list[dict[str, Any]]:
    """Customers per (R, F) cell of the scores the last rfm run wrote (one grouped query)."""
    rfm = KeyTransform("rfm", "scores")
    cells = (
        Customer.objects.filter(merged_into__isnull=True, scores__has_key="rfm")
        .annotate(
            r=Cast(KeyTextTransform("r", rfm), IntegerField()),
            f=Cast(KeyTextTransform("f", rfm), IntegerField()),
        )
        .values("r", "f")
        .annotate(
            customers=Count("pk"),
            monetary=Avg(Cast(KeyTextTransform("monetary", rfm), FloatField())),
        )
        .order_by("r", "f")
    )
    return [
        {
            "r": c["r"],
            "f": c["f"],
            "customers": c["customers"],
            "monetary": Decimal(str(round(c["monetary"] or 0, 2))),
        }
        for c in cells
        if c["r"] in range(1, 6) and c["f"] in range(1, 6)
    ]


def _clv_values() -> list[float]:
    """Each customer's CLV from ``Customer.scores["clv"]`` (aggregate: no visibility)."""
    raw = Customer.objects.filter(merged_into__isnull=True, scores__has_key="clv").values_list(
        "scores__clv", flat=True
    )[:CLV_SAMPLE]
    out = []
    for v in raw:
        value = num(v.get("clv") if isinstance(v, dict) else v)
        if value is not None:
            out.append(value)
    return out


def _top_scored(user, model: str, key, n: int) -> list[tuple[Any, dict]]:
    """The ``n`` customers ``user`` may see with the highest ``key`` (an expression on their
    ``model`` score; customers without it left out), each with that score (owner loaded)."""
    qs = (
        visible_customers(user)
        .filter(scores__has_key=model)
        .annotate(rank_key=key)
        .filter(~Q(rank_key=None))
        .select_related("owner")
        .order_by("-rank_key", "pk")[:n]
    )
    return [(c, (c.scores or {}).get(model) or {}) for c in qs]


CHURN_BANDS = {
    "high": pgettext_lazy("churn risk", "High"),
    "medium": pgettext_lazy("churn risk", "Medium"),
    "low": pgettext_lazy("churn risk", "Low"),
}


def _churn_table(user, *, ran: bool) -> Table:
    columns = [
        ("customer_id", _("Customer number")),
        ("name", _("Customer")),
        ("owner", _("Owner")),
        ("risk_pct", _("Churn risk %")),
        ("band", _("Band")),
        ("reasons", _("Reasons")),
    ]
    title = _("Highest churn risk (top %(n)s)") % {"n": CHURN_LIST}
    if not ran:
        return Table("churn", title, columns, [], run_hint("churn"))
    churn = KeyTransform("churn", "scores")
    risk = Coalesce(
        Cast(KeyTextTransform("p", churn), FloatField()),
        Cast(KeyTextTransform("risk", churn), FloatField()),
    )
    out = []
    for c, score in _top_scored(user, "churn", risk, CHURN_LIST):
        out.append(
            {
                "customer_id": c.pk,
                "name": c.name,
                "owner": str(c.owner) if c.owner else NONE,
                "risk_pct": round(100 * c.rank_key, 1),
                "band": score.get("band") or NONE,
                "reasons": score.get("reasons"),
            }
        )
    return Table(
        "churn",
        title,
        columns,
        out,
        _("No customer you can see has a churn score."),
        labels={"band": CHURN_BANDS},
        percent=("risk_pct",),
        text={"reasons": reasons_text},
    )


def _cross_sell_table(user, *, run) -> Table:
    """The most profitable customers ``user`` may see with the products the last basket run
    suggests to them (what they have not bought and their purchases predict)."""
    columns = [
        ("customer_id", _("Customer number")),
        ("name", _("Customer")),
        ("owner", _("Owner")),
        ("net_contribution", _("Net contribution")),
        ("product", _("Suggested product")),
        ("confidence_pct", _("Confidence %")),
        ("because", _("Because they bought")),
        ("also", _("Also likely")),
    ]
    title = _("Cross-sell: what the most profitable customers do not buy yet (top %(n)s)") % {
        "n": CROSS_SELL_LIST
    }
    if run is None:
        return Table("cross_sell", title, columns, [], run_hint("basket"))
    net = Cast(
        KeyTextTransform("net_contribution", KeyTransform(CROSS_SELL, "scores")), FloatField()
    )
    out = []
    for c, score in _top_scored(user, CROSS_SELL, net, CROSS_SELL_LIST):
        out.append(
            {
                "customer_id": c.pk,
                "name": c.name,
                "owner": str(c.owner) if c.owner else NONE,
                "net_contribution": c.rank_key,
                "product": score.get("label") or NONE,
                "confidence_pct": round(100 * float(score.get("confidence") or 0), 1),
                "because": score.get("because") or [],
                "also": score.get("also") or [],
            }
        )
    return Table(
        "cross_sell",
        title,
        columns,
        out,
        _("No customer you can see has a cross-sell suggestion."),
        percent=("confidence_pct",),
        text={"because": _names_text, "also": _names_text},
    )


def _names_text(names, localize: bool) -> str:
    return ", ".join(str(n) for n in names or [])


def reasons_text(reasons, localize: bool) -> str:
    """Churn reasons as text: ``[{"feature": "recency_days", "value": 1200, ...}]`` gives
    "recency_days = 1200" (or "1,200" / "1 200" in the reader's language if ``localize``)."""
    if isinstance(reasons, str):
        return reasons
    parts = []
    for r in reasons or []:
        if isinstance(r, dict) and "feature" in r:
            value = r.get("value")
            shown = localized_number(value) if localize else value
            parts.append(f"{r['feature']} = {shown}" if "value" in r else str(r["feature"]))
        else:
            parts.append(str(r))
    return "; ".join(parts)
