"""Fact sources of the warehouse: orders and order lines, interactions, opportunities and
their stage history, leads."""

from __future__ import annotations

from vinculo.analytics.warehouse.sources import DECIMAL, Col, Source, local_date, register


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
