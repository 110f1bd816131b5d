"""What the ETL extracts: one registered ``Source`` per warehouse table fed from the
operational database. Adding a source (cases, campaign touches...) is one ``register()``
call next to the model it reads; the ETL, deletes, watermarks and progress come for free.

A source either has a ``watermark`` (an ORM path to an ``updated_at``; rows changed since
the last refresh are re-extracted and replaced by key) or none (a small table reloaded in
full on every refresh). Child rows without their own ``updated_at`` (order lines, stage
history) use their parent's: services bump the parent whenever a child changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

DECIMAL = "DECIMAL(14,2)"
RATE = "DECIMAL(5,2)"


@dataclass(frozen=True)
class Col:
    """A warehouse column: its DuckDB ``type``, the ORM ``source`` path it is read from
    (``None`` for a derived column) and an optional SQL ``expr`` over the chunk's columns."""

    name: str
    type: str
    source: str | None = ""  # "" means: the ORM path is the column name
    expr: str | None = None

    @property
    def orm_path(self) -> str | None:
        if self.source is None:
            return None
        return self.source or self.name


@dataclass(frozen=True)
class Source:
    name: str
    table: str
    key: str  # the warehouse column holding the source primary key
    columns: tuple[Col, ...]
    queryset: Callable[[], QuerySet] | None = None
    # Rows instead of a queryset (small tables that need Python to shape them).
    rows: Callable[[], Iterable[tuple]] | None = None
    watermark: str | None = None  # ORM path to updated_at; None = reload in full each time
    # Rows are hard-deleted in the operational DB: anti-join the keys on each refresh.
    hard_deletes: bool = True
    kind: str = "fact"  # or "dimension"
    extra_fields: tuple[str, ...] = field(default=())

    @property
    def extracted(self) -> list[Col]:
        return [c for c in self.columns if c.orm_path is not None]

    @property
    def key_path(self) -> str:
        for c in self.columns:
            if c.name == self.key:
                return c.orm_path or "pk"
        return "pk"

    @property
    def incremental(self) -> bool:
        return self.watermark is not None


REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source to the ETL (idempotent by name: re-registering replaces it)."""
    REGISTRY[source.name] = source
    return source


def local_date(column: str) -> str:
    """SQL for the calendar date of a UTC timestamp in the project's time zone."""
    tz = str(settings.TIME_ZONE).replace("'", "")
    return f"CAST(timezone('{tz}', CAST({column} AS TIMESTAMPTZ)) AS DATE)"


# --- dimensions ------------------------------------------------------------------------------


def _customers():
    from vinculo.customers.models import Customer

    return Customer.objects.all()


def _products():
    from vinculo.sales.models import Product

    return Product.objects.all()


def _category_rows() -> Iterable[tuple]:
    """Categories with their hierarchy flattened into levels 1-3 (deeper levels roll up
    into level 3's path)."""
    from vinculo.sales.models import Category

    cats = {c["id"]: c for c in Category.objects.values("id", "name", "parent_id", "path")}
    for cid, c in sorted(cats.items()):
        chain, seen, node = [], set(), c
        while node is not None and node["id"] not in seen:  # a cycle never loops forever
            seen.add(node["id"])
            chain.append(node["name"])
            node = cats.get(node["parent_id"])
        chain.reverse()
        levels = [*chain[:2], "/".join(chain[2:]) or None] if len(chain) > 2 else chain
        levels += [None] * (3 - len(levels))
        yield (cid, c["name"], c["parent_id"], c["path"] or "/".join(chain), len(chain), *levels)


def _user_rows() -> Iterable[tuple]:
    from django.contrib.auth import get_user_model

    for u in get_user_model().objects.select_related("team").order_by("pk"):
        yield (
            u.pk,
            u.username,
            u.get_full_name() or u.username,
            u.role,
            u.team_id,
            u.team.name if u.team else None,
            u.is_active,
        )


def _team_rows() -> Iterable[tuple]:
    from vinculo.accounts.models import Team

    yield from Team.objects.order_by("pk").values_list("pk", "name", "region", "manager_id")


def _channel_rows() -> Iterable[tuple]:
    """Every channel code used by orders or interactions, with its label (in English: the
    warehouse is language-neutral; pages translate the code)."""
    from django.utils import translation

    from vinculo.interactions.models import Interaction
    from vinculo.sales.models import Order

    with translation.override("en"):
        seen: dict[str, tuple] = {}
        for used_by, choices in (("order", Order.Channel), ("interaction", Interaction.Channel)):
            for code, label in choices.choices:
                if code in seen:
                    seen[code] = (code, seen[code][1], "both")
                else:
                    seen[code] = (code, str(label), used_by)
    return sorted(seen.values())


register(
    Source(
        name="customers",
        table="dim_customer",
        key="customer_id",
        kind="dimension",
        queryset=_customers,
        watermark="updated_at",
        columns=(
            Col("customer_id", "BIGINT", "id"),
            Col("kind", "VARCHAR"),
            Col("name", "VARCHAR"),
            Col("company_name", "VARCHAR"),
            Col("organization_id", "BIGINT"),
            Col("lifecycle_stage", "VARCHAR", "stage"),
            Col("acquisition_source", "VARCHAR", "source"),
            Col("country", "VARCHAR"),
            Col("region", "VARCHAR"),
            Col("city", "VARCHAR"),
            Col("language", "VARCHAR"),
            Col("owner_id", "BIGINT"),
            Col("team_id", "BIGINT"),
            Col("merged_into_id", "BIGINT"),
            Col("acquired_at", "TIMESTAMP", "created_at"),
            Col("acquired_date", "DATE", None, local_date("acquired_at")),
            Col("last_contact_at", "TIMESTAMP"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="products",
        table="dim_product",
        key="product_id",
        kind="dimension",
        queryset=_products,
        watermark="updated_at",
        columns=(
            Col("product_id", "BIGINT", "id"),
            Col("sku", "VARCHAR"),
            Col("name", "VARCHAR"),
            Col("kind", "VARCHAR"),
            Col("parent_id", "BIGINT"),
            Col("category_id", "BIGINT"),
            # Filled from dim_category after each refresh (a renamed category updates them).
            Col("category_path", "VARCHAR", None, "NULL"),
            Col("category_l1", "VARCHAR", None, "NULL"),
            Col("category_l2", "VARCHAR", None, "NULL"),
            Col("category_l3", "VARCHAR", None, "NULL"),
            Col("price", DECIMAL),
            Col("cost", DECIMAL),
            Col("currency", "VARCHAR"),
            Col("tax_rate", RATE),
            Col("active", "BOOLEAN"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="categories",
        table="dim_category",
        key="category_id",
        kind="dimension",
        rows=_category_rows,
        columns=(
            Col("category_id", "BIGINT"),
            Col("name", "VARCHAR"),
            Col("parent_id", "BIGINT"),
            Col("path", "VARCHAR"),
            Col("depth", "INTEGER"),
            Col("category_l1", "VARCHAR"),
            Col("category_l2", "VARCHAR"),
            Col("category_l3", "VARCHAR"),
        ),
    )
)

register(
    Source(
        name="users",
        table="dim_user",
        key="user_id",
        kind="dimension",
        rows=_user_rows,
        columns=(
            Col("user_id", "BIGINT"),
            Col("username", "VARCHAR"),
            Col("full_name", "VARCHAR"),
            Col("role", "VARCHAR"),
            Col("team_id", "BIGINT"),
            Col("team_name", "VARCHAR"),
            Col("is_active", "BOOLEAN"),
        ),
    )
)

register(
    Source(
        name="teams",
        table="dim_team",
        key="team_id",
        kind="dimension",
        rows=_team_rows,
        columns=(
            Col("team_id", "BIGINT"),
            Col("name", "VARCHAR"),
            Col("territory", "VARCHAR"),
            Col("manager_id", "BIGINT"),
        ),
    )
)

register(
    Source(
        name="channels",
        table="dim_channel",
        key="channel",
        kind="dimension",
        rows=_channel_rows,
        columns=(
            Col("channel", "VARCHAR"),
            Col("label", "VARCHAR"),
            Col("used_by", "VARCHAR"),
        ),
    )
)

# --- facts -------------------------------------------------------------------------------------


def _orders():
    from vinculo.sales.models import Order

    return Order.objects.all()


def _order_lines():
    from vinculo.sales.models import OrderLine

    return OrderLine.objects.all()


def _interactions():
    from vinculo.interactions.models import Interaction

    return Interaction.objects.all()


def _opportunities():
    from vinculo.sales.models import Opportunity

    return Opportunity.objects.all()


def _stage_history():
    from vinculo.sales.models import StageHistory

    return StageHistory.objects.all()


def _leads():
    from vinculo.sales.models import Lead

    return Lead.objects.all()


register(
    Source(
        name="orders",
        table="fact_order",
        key="order_id",
        queryset=_orders,
        watermark="updated_at",
        columns=(
            Col("order_id", "BIGINT", "id"),
            Col("number", "VARCHAR"),
            Col("customer_id", "BIGINT"),
            Col("channel", "VARCHAR"),
            Col("status", "VARCHAR"),
            Col("owner_id", "BIGINT"),
            Col("currency", "VARCHAR"),
            Col("subtotal", DECIMAL),
            Col("discount_total", DECIMAL),
            Col("tax_total", DECIMAL),
            Col("shipping", DECIMAL),
            Col("total", DECIMAL),
            Col("created_at", "TIMESTAMP"),
            Col("ordered_at", "TIMESTAMP", "ordered_at", "coalesce(ordered_at, created_at)"),
            Col("ordered_date", "DATE", None, local_date("coalesce(ordered_at, created_at)")),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

# Bundles: the bundle's line carries the price, its component lines (bundle_line_id set)
# carry quantity 0 price and their cost. Revenue is summed over all lines without double
# counting; the bundle's cost is taken from its components (see the fact_sales view).
register(
    Source(
        name="order_lines",
        table="fact_order_line",
        key="order_line_id",
        queryset=_order_lines,
        watermark="order__updated_at",
        columns=(
            Col("order_line_id", "BIGINT", "id"),
            Col("order_id", "BIGINT"),
            Col("customer_id", "BIGINT", "order__customer_id"),
            Col("product_id", "BIGINT"),
            Col("bundle_line_id", "BIGINT"),
            Col("is_component", "BOOLEAN", None, "bundle_line_id IS NOT NULL"),
            Col("channel", "VARCHAR", "order__channel"),
            Col("status", "VARCHAR", "order__status"),
            Col("owner_id", "BIGINT", "order__owner_id"),
            Col("currency", "VARCHAR", "order__currency"),
            Col("created_at", "TIMESTAMP", "order__created_at"),
            Col("ordered_at", "TIMESTAMP", "order__ordered_at", "coalesce(ordered_at, created_at)"),
            Col("ordered_date", "DATE", None, local_date("coalesce(ordered_at, created_at)")),
            Col("sku", "VARCHAR"),
            Col("quantity", "INTEGER"),
            Col("unit_price", DECIMAL),
            Col("unit_cost", DECIMAL),
            Col("gross_amount", DECIMAL, None, "quantity * CAST(unit_price AS DECIMAL(14,2))"),
            Col("discount", DECIMAL),
            Col("tax", DECIMAL),
            Col("total", DECIMAL),
            Col(
                "revenue",
                DECIMAL,
                None,
                "CAST(total AS DECIMAL(14,2)) - CAST(tax AS DECIMAL(14,2))",
            ),
            Col("line_cost", DECIMAL, None, "quantity * CAST(unit_cost AS DECIMAL(14,2))"),
            Col("order_updated_at", "TIMESTAMP", "order__updated_at"),
        ),
    )
)

register(
    Source(
        name="interactions",
        table="fact_interaction",
        key="interaction_id",
        queryset=_interactions,
        watermark="updated_at",
        columns=(
            Col("interaction_id", "BIGINT", "id"),
            Col("customer_id", "BIGINT"),
            Col("user_id", "BIGINT"),
            Col("kind", "VARCHAR"),
            Col("channel", "VARCHAR"),
            Col("direction", "VARCHAR"),
            Col("outcome", "VARCHAR"),
            Col("duration_seconds", "INTEGER"),
            Col("occurred_at", "TIMESTAMP"),
            Col("occurred_date", "DATE", None, local_date("occurred_at")),
            Col("related_type_id", "BIGINT"),
            Col("related_id", "BIGINT"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="opportunities",
        table="fact_opportunity",
        key="opportunity_id",
        queryset=_opportunities,
        watermark="updated_at",
        columns=(
            Col("opportunity_id", "BIGINT", "id"),
            Col("customer_id", "BIGINT"),
            Col("pipeline_id", "BIGINT"),
            Col("stage_id", "BIGINT"),
            Col("stage_name", "VARCHAR", "stage__name"),
            Col("status", "VARCHAR"),
            Col("owner_id", "BIGINT"),
            Col("team_id", "BIGINT"),
            Col("amount", DECIMAL),
            Col("currency", "VARCHAR"),
            Col("expected_close_date", "DATE"),
            Col("source", "VARCHAR"),
            Col("created_at", "TIMESTAMP"),
            Col("closed_at", "TIMESTAMP"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="stage_history",
        table="fact_stage_history",
        key="stage_history_id",
        queryset=_stage_history,
        watermark="opportunity__updated_at",
        columns=(
            Col("stage_history_id", "BIGINT", "id"),
            Col("opportunity_id", "BIGINT"),
            Col("customer_id", "BIGINT", "opportunity__customer_id"),
            Col("pipeline_id", "BIGINT", "stage__pipeline_id"),
            Col("stage_id", "BIGINT"),
            Col("stage_name", "VARCHAR", "stage__name"),
            Col("stage_position", "INTEGER", "stage__position"),
            Col("is_won", "BOOLEAN", "stage__is_won"),
            Col("is_lost", "BOOLEAN", "stage__is_lost"),
            Col("user_id", "BIGINT"),
            Col("entered_at", "TIMESTAMP"),
            Col("left_at", "TIMESTAMP"),
            Col(
                "hours_in_stage",
                "DOUBLE",
                None,
                "CASE WHEN left_at IS NULL THEN NULL ELSE "
                "epoch(CAST(left_at AS TIMESTAMP) - CAST(entered_at AS TIMESTAMP)) / 3600.0 END",
            ),
        ),
    )
)

register(
    Source(
        name="leads",
        table="fact_lead",
        key="lead_id",
        queryset=_leads,
        watermark="updated_at",
        columns=(
            Col("lead_id", "BIGINT", "id"),
            Col("customer_id", "BIGINT"),
            Col("status", "VARCHAR"),
            Col("source", "VARCHAR"),
            Col("campaign", "VARCHAR"),
            Col("utm_source", "VARCHAR"),
            Col("utm_medium", "VARCHAR"),
            Col("utm_campaign", "VARCHAR"),
            Col("acquisition_cost", DECIMAL),
            Col("currency", "VARCHAR"),
            Col("owner_id", "BIGINT"),
            Col("team_id", "BIGINT"),
            Col("opportunity_id", "BIGINT"),
            Col("score", "INTEGER"),
            Col("created_at", "TIMESTAMP"),
            Col("created_date", "DATE", None, local_date("created_at")),
            Col("converted_at", "TIMESTAMP"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)


def columns_sql(source: Source) -> str:
    return ", ".join(f'"{c.name}" {c.type}' for c in source.columns)


def select_sql(source: Source) -> str:
    """The SELECT list that turns a raw chunk (columns named like the warehouse's) into
    the table's typed row."""
    parts = []
    for c in source.columns:
        expr = c.expr if c.expr is not None else f'"{c.name}"'
        parts.append(f'CAST({expr} AS {c.type}) AS "{c.name}"')
    return ", ".join(parts)


def describe() -> list[dict[str, Any]]:
    return [
        {"source": s.name, "table": s.table, "kind": s.kind, "incremental": s.incremental}
        for s in REGISTRY.values()
    ]
