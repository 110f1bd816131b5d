"""Dashboard data: every figure and table the analytics pages show, read from the warehouse
(one read-only DuckDB connection per page) and from the latest ``ModelRun`` of each model.
The customer value page's data is in ``selectors_value`` (same helpers, same contract).

Dashboards are aggregates over the whole warehouse; the one list of named customers (churn
risk) goes through ``visible_customers(user)``. A model that has not run gives a ``Table``
with no rows and a message saying which command fills it, never an error.

What the dashboards read from the models (the contract with ``vinculo/analytics/<model>.py``):

- ``forecast`` run: ``summary["forecast"]`` = ``[{"month": "YYYY-MM-DD", "mean": x,
  "lower": y, "upper": z}, ...]`` (``yhat``/``mean_ci_lower``/``mean_ci_upper`` accepted).
- ``basket`` run: ``summary["rules"]`` = list of rule dicts (antecedent, consequent, support,
  confidence, lift...).
- ``rfm`` / ``clusters`` / ``profitability`` runs: ``summary["segments"]`` or
  ``summary["clusters"]`` = a list of dicts or a dict of dicts by code, shown as they are
  (one column per key).
- ``Customer.scores["rfm"]``: ``{"r": 1..5, "f": 1..5, "monetary": x, ...}`` (the RFM grid;
  without an rfm run the grid is computed from the warehouse's quintiles).
- ``Customer.scores["clv"]``: a number or ``{"clv": x, ...}``.
- ``Customer.scores["churn"]``: ``{"p": 0..1 (or "risk"), "band": str,
  "reasons": [{"feature": str, "value": x}, ...] or [str, ...]}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.analytics import warehouse
from vinculo.analytics.models import ModelRun
from vinculo.analytics.runs import latest_run
from vinculo.analytics.warehouse.marts import REVENUE_STATUSES
from vinculo.core.errors import DomainError, NotFound
from vinculo.core.numbers import is_number, localized_number, localized_percent
from vinculo.interactions.models import Interaction
from vinculo.sales.models import Lead

NONE = "—"  # the label of a missing category, region, team or rep (also a drill-down value)


class WarehouseUnavailable(DomainError):
    """The warehouse file is missing, empty, outdated or busy (``reason``)."""

    status_code = 503

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Table:
    slug: str  # the ``table=`` parameter of its CSV export
    title: str
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[dict[str, Any]]
    empty: str = ""  # shown instead of the table when there are no rows
    # Codes shown by their label in the user's language ({column: {code: label}}); the CSV
    # export keeps the codes, so a spreadsheet's lookups do not depend on the language.
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Columns holding a percentage (0-100): shown as "45,2 %" / "45.2%", exported as 45.2.
    percent: tuple[str, ...] = ()
    # Columns whose value (a list of reasons, a dict of shares) is written as text by
    # ``fn(value, localize)``: numbers in the reader's language on the page, plain in the CSV.
    text: dict[str, Callable[[Any, bool], Any]] = field(default_factory=dict)

    def values(self) -> Iterator[list[Any]]:
        """The rows as the CSV export writes them: codes and machine-readable numbers."""
        for row in self.rows:
            yield [
                self.text[key](row.get(key), False) if key in self.text else row.get(key)
                for key, _label in self.columns
            ]

    def label(self, key: str, value: Any) -> Any:
        found = self.labels.get(key, {}).get(value) if isinstance(value, str) else None
        return value if found is None else str(found)

    @property
    def shown_rows(self) -> list[dict[str, Any]]:
        """The rows as the page shows them: coded columns replaced by their labels, text
        columns written in the reader's language."""
        if not (self.labels or self.text):
            return self.rows
        return [
            {
                **row,
                **{k: self.label(k, row.get(k)) for k in self.labels if k in row},
                **{k: fn(row.get(k), True) for k, fn in self.text.items() if k in row},
            }
            for row in self.rows
        ]


def choice_labels(choices) -> dict[str, Any]:
    """{code: lazy label} of a model's TextChoices, for ``Table.labels``."""
    return dict(choices.choices)


# Headings of the columns a model run's summary may hold (``run_table``), in the order they
# are shown: a run's keys come back from PostgreSQL's jsonb in its own order (shortest key
# first), so the page must not rely on the order the model wrote them. An unknown key goes
# last, shown as itself, capitalised.
RUN_COLUMNS: dict[str, Any] = {
    "rank": gettext_lazy("Rank"),
    "code": gettext_lazy("Code"),
    "segment": gettext_lazy("Segment"),
    "cluster": gettext_lazy("Cluster"),
    "label": gettext_lazy("Name"),
    "description": gettext_lazy("Description"),
    "traits": gettext_lazy("Traits"),
    "level": gettext_lazy("Level"),
    "sku": gettext_lazy("SKU"),
    "antecedent": gettext_lazy("If bought"),
    "consequent": gettext_lazy("Also bought"),
    "customers": gettext_lazy("Customers"),
    "share": gettext_lazy("Share of customers"),
    "revenue": gettext_lazy("Revenue"),
    "revenue_share": gettext_lazy("Share of revenue"),
    "margin": gettext_lazy("Margin"),
    "service_cost": gettext_lazy("Service cost"),
    "marketing_cost": gettext_lazy("Marketing cost"),
    "net_contribution": gettext_lazy("Net contribution"),
    "net_per_customer": gettext_lazy("Net contribution per customer"),
    "support": gettext_lazy("Support"),
    "confidence": gettext_lazy("Confidence"),
    "lift": gettext_lazy("Lift"),
    "count": gettext_lazy("Baskets"),
}


@dataclass
class Dashboard:
    """Plain data for one page: KPIs, series for the charts, tables (each exportable)."""

    kpis: list[tuple[str, Any]] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # empty-state messages by panel

    def add(self, table: Table) -> Table:
        self.tables[table.slug] = table
        return table


def run_hint(model: str) -> str:
    return _("Run “vinculo analytics %(model)s” to see this.") % {"model": model}


def num(value) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- the warehouse connection -----------------------------------------------------------------


@contextmanager
def warehouse_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a built, non-empty warehouse, or ``WarehouseUnavailable``."""
    try:
        with warehouse.connect(read_only=True) as con:
            try:
                (n,) = con.execute("SELECT count(*) FROM mart_customer_360").fetchone()
            except duckdb.CatalogException:
                n = 0
            if not n:
                raise WarehouseUnavailable(_("The warehouse has no data yet."), reason="empty")
            try:
                yield con
            except duckdb.CatalogException as exc:  # built by a version without a table
                raise WarehouseUnavailable(
                    _("The warehouse lacks tables these dashboards read: rebuild it in full."),
                    reason="outdated",
                ) from exc
    except NotFound as exc:
        raise WarehouseUnavailable(exc.message, reason="missing") from exc
    except WarehouseUnavailable:
        raise
    except DomainError as exc:  # Conflict: a refresh holds the file
        raise WarehouseUnavailable(exc.message, reason="busy") from exc


def rows(con, sql: str, params=None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


REVENUE_SQL = "(" + ", ".join(f"'{s}'" for s in REVENUE_STATUSES) + ")"


# --- executive --------------------------------------------------------------------------------


def executive(*, user, today: dt.date | None = None) -> Dashboard:
    """KPIs, revenue and margin by month, the statsmodels forecast (if run) and the pipeline
    forecast of the opportunities ``user`` may see."""
    from vinculo.sales.forecast import forecast, month_start

    today = today or timezone.localdate()
    d = Dashboard()
    with warehouse_connection() as con:
        (k,) = rows(
            con,
            "SELECT count(*) AS customers, count(*) FILTER (WHERE recency_days <= 365) AS active,"
            " sum(revenue) AS revenue, sum(margin) AS margin FROM mart_customer_360",
        )
        months = rows(
            con,
            "SELECT month, sum(revenue) AS revenue, sum(margin) AS margin, "
            "sum(customers) AS customer_months FROM mart_sales GROUP BY month ORDER BY month",
        )
    d.kpis = [
        (_("Customers"), k["customers"]),
        (_("Active (bought in the last 12 months)"), k["active"]),
        (_("Revenue"), k["revenue"] or Decimal(0)),
        (_("Margin"), k["margin"] or Decimal(0)),
    ]
    d.add(
        Table(
            "revenue",
            _("Revenue by month"),
            [("month", _("Month")), ("revenue", _("Revenue")), ("margin", _("Margin"))],
            months,
            _("No revenue yet."),
        )
    )
    d.series["forecast"] = _statsmodels_forecast()
    if d.series["forecast"] is None:
        d.notes["forecast"] = run_hint("forecast")
    pipe = forecast(user=user, start=month_start(today), months=6, group_by="owner")
    stat = {p["month"]: p for p in d.series["forecast"] or []}
    d.add(
        Table(
            "pipeline",
            _("Pipeline forecast beside the statistical forecast"),
            [
                ("month", _("Month")),
                ("open_amount", _("Open amount")),
                ("weighted_by_probability", _("Weighted by probability")),
                ("weighted_by_win_rate", _("Weighted by win rate")),
                ("won_amount", _("Won")),
                ("forecast", _("Statistical forecast")),
                ("forecast_lower", _("Lower bound")),
                ("forecast_upper", _("Upper bound")),
            ],
            [
                {
                    "month": t.month,
                    "open_amount": t.open_amount,
                    "weighted_by_probability": t.weighted_by_probability,
                    "weighted_by_win_rate": t.weighted_by_win_rate,
                    "won_amount": t.won_amount,
                    "forecast": stat.get(t.month.isoformat(), {}).get("mean"),
                    "forecast_lower": stat.get(t.month.isoformat(), {}).get("lower"),
                    "forecast_upper": stat.get(t.month.isoformat(), {}).get("upper"),
                }
                for t in pipe.totals
            ],
            _("No open opportunities."),
        )
    )
    return d


def _pick(row: dict, *keys):
    for key in keys:
        if row.get(key) is not None:
            return row[key]
    return None


def _statsmodels_forecast() -> list[dict] | None:
    run = latest_run("forecast")
    points = (run.summary or {}).get("forecast") if run else None
    if not isinstance(points, list):
        return None
    out = []
    for p in points:
        if not isinstance(p, dict):
            continue
        month = _pick(p, "month", "date", "period")
        mean = num(_pick(p, "mean", "yhat", "forecast", "value"))
        if month is None or mean is None:
            continue
        out.append(
            {
                "month": str(month)[:10],
                "mean": mean,
                "lower": num(_pick(p, "lower", "mean_ci_lower", "lo")),
                "upper": num(_pick(p, "upper", "mean_ci_upper", "hi")),
            }
        )
    return out or None


# --- sales ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    key: str  # the query parameter
    label: str
    sql: str  # the grouping expression


def hierarchies() -> dict[str, tuple[str, list[Level]]]:
    """Drill-down paths: name -> (label, levels from the top)."""
    return {
        "category": (
            _("Category"),
            [
                Level("category_l1", _("Category"), f"coalesce(p.category_l1, '{NONE}')"),
                Level("category_l2", _("Subcategory"), f"coalesce(p.category_l2, '{NONE}')"),
                Level("category_l3", _("Sub-subcategory"), f"coalesce(p.category_l3, '{NONE}')"),
                Level("product", _("Product"), f"coalesce(p.name, '{NONE}')"),
            ],
        ),
        "region": (
            _("Region"),
            [
                Level("region", _("Region"), f"coalesce(nullif(c.region, ''), '{NONE}')"),
                Level("city", _("City"), f"coalesce(nullif(c.city, ''), '{NONE}')"),
            ],
        ),
        "team": (
            _("Team"),
            [
                Level("team", _("Team"), f"coalesce(u.team_name, '{NONE}')"),
                Level("rep", _("Rep"), f"coalesce(u.full_name, '{NONE}')"),
            ],
        ),
    }


@dataclass
class Drill:
    dimension: str
    level: Level
    path: list[tuple[Level, str]]  # the levels chosen so far, with their values
    next_level: Level | None  # None at the bottom: rows do not drill further


def drill_for(dimension: str | None, params) -> Drill:
    """Where the user is in a drill-down: the filters given by the query parameters (each
    level in order; a later level without the earlier ones is ignored) and the level shown."""
    paths = hierarchies()
    dimension = dimension if dimension in paths else "category"
    levels = paths[dimension][1]
    path: list[tuple[Level, str]] = []
    for level in levels[:-1]:
        value = params.get(level.key)
        if value is None or value == "":
            break
        path.append((level, value))
    shown = levels[len(path)]
    below = levels[len(path) + 1] if len(path) + 1 < len(levels) else None
    return Drill(dimension, shown, path, below)


def sales(*, drill: Drill, pipeline_id: int | None = None) -> Dashboard:
    """The pipeline funnel (from stage history), win rate, and revenue and margin grouped at
    the drill-down's level under its filters."""
    d = Dashboard()
    with warehouse_connection() as con:
        pipelines = rows(
            con,
            "SELECT pipeline_id, count(DISTINCT opportunity_id) AS n FROM fact_stage_history "
            "GROUP BY 1 ORDER BY n DESC, pipeline_id",
        )
        ids = [p["pipeline_id"] for p in pipelines]
        pid = pipeline_id if pipeline_id in ids else (ids[0] if ids else None)
        funnel = rows(
            con,
            """
            WITH reached AS (
                SELECT opportunity_id, max(stage_position) AS pos FROM fact_stage_history
                WHERE pipeline_id = ? AND NOT is_lost GROUP BY 1
            ), stages AS (
                SELECT DISTINCT stage_position, stage_name FROM fact_stage_history
                WHERE pipeline_id = ? AND NOT is_lost
            )
            SELECT s.stage_name AS stage, s.stage_position AS position,
                   count(r.opportunity_id) AS opportunities
            FROM stages s LEFT JOIN reached r ON r.pos >= s.stage_position
            GROUP BY 1, 2 ORDER BY 2
            """,
            [pid, pid],
        )
        (w,) = rows(
            con,
            "SELECT count(*) FILTER (WHERE status = 'won') AS won, "
            "count(*) FILTER (WHERE status = 'lost') AS lost, "
            "count(*) FILTER (WHERE status = 'open') AS open FROM fact_opportunity",
        )
        where = " AND ".join(f"{lvl.sql} = ?" for lvl, _v in drill.path) or "TRUE"
        grouped = rows(
            con,
            f"""
            SELECT {drill.level.sql} AS label, count(DISTINCT f.order_id) AS orders,
                   sum(f.units) AS units, CAST(sum(f.revenue) AS DECIMAL(14,2)) AS revenue,
                   CAST(sum(f.margin) AS DECIMAL(14,2)) AS margin
            FROM fact_sales f
            LEFT JOIN dim_product p USING (product_id)
            LEFT JOIN dim_customer c USING (customer_id)
            LEFT JOIN dim_user u ON u.user_id = coalesce(f.owner_id, c.owner_id)
            WHERE f.is_revenue AND NOT f.is_component AND {where}
            GROUP BY 1 ORDER BY revenue DESC, label
            """,
            [v for _lvl, v in drill.path],
        )
    closed = w["won"] + w["lost"]
    win_rate = round(100 * w["won"] / closed, 1) if closed else None
    d.kpis = [
        (_("Win rate"), localized_percent(win_rate) if win_rate is not None else NONE),
        (_("Won"), w["won"]),
        (_("Lost"), w["lost"]),
        (_("Open"), w["open"]),
    ]
    d.series["pipelines"] = ids
    d.series["pipeline_id"] = pid
    d.add(
        Table(
            "funnel",
            _("Pipeline funnel"),
            [("stage", _("Stage")), ("opportunities", _("Opportunities that reached it"))],
            funnel,
            _("No opportunities have moved through a pipeline yet."),
        )
    )
    for row in grouped:
        row["margin_pct"] = (
            round(100 * row["margin"] / row["revenue"], 1) if row["revenue"] else None
        )
    d.add(
        Table(
            "drill",
            _("Revenue by %(level)s") % {"level": drill.level.label.lower()},
            [
                ("label", drill.level.label),
                ("orders", _("Orders")),
                ("units", _("Units")),
                ("revenue", _("Revenue")),
                ("margin", _("Margin")),
                ("margin_pct", _("Margin %")),
            ],
            grouped,
            _("No sales here."),
            percent=("margin_pct",),
        )
    )
    return d


# --- service ----------------------------------------------------------------------------------


def service() -> Dashboard:
    """Interaction volume by channel (per month and in total), internal notes left out."""
    d = Dashboard()
    with warehouse_connection() as con:
        monthly = rows(
            con,
            "SELECT CAST(date_trunc('month', occurred_date) AS DATE) AS month, channel, "
            "count(*) AS interactions FROM fact_interaction WHERE channel <> 'internal' "
            "GROUP BY 1, 2 ORDER BY 1, 2",
        )
        totals = rows(
            con,
            "SELECT channel, count(*) AS interactions, "
            "count(*) FILTER (WHERE direction = 'in') AS inbound, "
            "count(*) FILTER (WHERE direction = 'out') AS outbound "
            "FROM fact_interaction WHERE channel <> 'internal' GROUP BY 1 "
            "ORDER BY interactions DESC, channel",
        )
    d.series["monthly"] = monthly
    d.add(
        Table(
            "channels",
            _("Interactions by channel"),
            [
                ("channel", _("Channel")),
                ("interactions", _("Interactions")),
                ("inbound", _("Inbound")),
                ("outbound", _("Outbound")),
            ],
            totals,
            _("No interactions yet."),
            labels={"channel": choice_labels(Interaction.Channel)},
        )
    )
    return d


# --- marketing --------------------------------------------------------------------------------


def marketing() -> Dashboard:
    """Leads, conversion, cost and cost per lead by source and campaign; basket rules."""
    d = Dashboard()
    with warehouse_connection() as con:
        leads = rows(
            con,
            """
            SELECT nullif(source, '') AS source, nullif(campaign, '') AS campaign,
                   sum(leads) AS leads, sum(converted) AS converted,
                   sum(disqualified) AS disqualified,
                   CAST(sum(acquisition_cost) AS DECIMAL(14,2)) AS cost
            FROM mart_marketing_leads GROUP BY 1, 2 ORDER BY leads DESC, source, campaign
            """,
        )
    for row in leads:
        row["source"] = row["source"] or NONE
        row["campaign"] = row["campaign"] or NONE
        row["conversion_pct"] = round(100 * row["converted"] / row["leads"], 1)
        row["cost_per_lead"] = (
            (row["cost"] / row["leads"]).quantize(Decimal("0.01"))
            if row["cost"] is not None
            else None
        )
    d.add(
        Table(
            "leads",
            _("Leads by source and campaign"),
            [
                ("source", _("Source")),
                ("campaign", _("Campaign")),
                ("leads", _("Leads")),
                ("converted", _("Converted")),
                ("conversion_pct", _("Conversion %")),
                ("cost", _("Cost")),
                ("cost_per_lead", _("Cost per lead")),
            ],
            leads,
            _("No leads yet."),
            labels={"source": choice_labels(Lead.Source)},
            percent=("conversion_pct",),
        )
    )
    runs = latest_runs("basket")
    rules = d.add(
        run_table("basket", "rules", "rules", _("Bought together (basket rules)"), runs=runs)
    )
    rules.labels["level"] = {"category": _("Category"), "product": _("Product")}
    d.add(
        run_table(
            "basket",
            "cross_sell",
            "cross_sell_products",
            _("Cross-sell: products most often suggested to the most profitable customers"),
            runs=runs,
        )
    )
    return d


def _plain_or_localized(value: Any, localize: bool) -> str:
    if localize and is_number(value):
        return localized_number(value)
    return str(value)


def flat_text(value: Any, localize: bool) -> Any:
    """A summary value as one table cell (``Table.text``): lists of traits/reasons become a
    short text, a dict "key: value; ...", with numbers in the reader's language if
    ``localize``."""
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("text") or item.get("label") or item.get("feature") or item
            parts.append(_plain_or_localized(item, localize))
        return "; ".join(parts)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain_or_localized(v, localize)}" for k, v in value.items())
    return value


def latest_runs(*models: str) -> dict[str, ModelRun | None]:
    """The newest successful run of each model (None if it never ran), in one query."""
    done = ModelRun.objects.filter(status=ModelRun.Status.DONE)
    newest = done.filter(model=OuterRef("model")).order_by("-version").values("version")[:1]
    found: dict[str, ModelRun | None] = dict.fromkeys(models)
    for run in done.filter(model__in=models, version=Subquery(newest)):
        found[run.model] = run
    return found


def run_table(
    model: str, key: str, slug: str, title: str, *alt_keys: str, runs: dict | None = None
) -> Table:
    """A model run's summary entries shown as they are (a list of dicts, or a dict of dicts
    keyed by code), or an empty table naming the command that fills it."""
    run = runs[model] if runs is not None and model in runs else latest_run(model)
    summary = (run.summary or {}) if run else {}
    items = next(
        (summary[k] for k in (key, *alt_keys) if isinstance(summary.get(k), list | dict)), []
    )
    if isinstance(items, dict):
        items = [{"code": code, **v} for code, v in items.items() if isinstance(v, dict)]
    entries = [r for r in items if isinstance(r, dict)]
    keys: list[str] = []
    for r in entries:
        keys.extend(k for k in r if k not in keys)
    order = {k: i for i, k in enumerate(RUN_COLUMNS)}
    keys.sort(key=lambda k: order.get(k, len(order)))  # stable: unknown keys keep their order
    columns = [(k, str(RUN_COLUMNS.get(k) or k.replace("_", " ").capitalize())) for k in keys]
    empty = run_hint(model) if run is None else _("The last run found nothing to show.")
    structured = {k for r in entries for k, v in r.items() if isinstance(v, list | dict)}
    return Table(slug, title, columns, entries, empty, text=dict.fromkeys(structured, flat_text))
