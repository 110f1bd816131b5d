"""Derived dimensions and data marts, rebuilt from the facts after every refresh.

Marts are plain DuckDB tables (``CREATE OR REPLACE … ORDER BY key``): cheap to rebuild,
deterministic (two refreshes over the same data give identical tables) and readable by any
SQL engine later. Revenue is net of discounts, without tax or shipping, and counts only
orders that are confirmed, paid, shipped or delivered (drafts, cancellations and returns
bring none)."""

from __future__ import annotations

import datetime as dt

import duckdb

from vinculo.analytics.warehouse import scores

# Bump when a mart's definition changes: the next refresh rebuilds the warehouse.
VERSION = "marts-1"

REVENUE_STATUSES = ("confirmed", "paid", "shipped", "delivered")
OPEN_OPPORTUNITY = "open"
# Internal notes (and the notes services write when an order or stage changes) are on the
# timeline but are not contacts with the customer: they do not count as interactions.
INTERNAL = "internal"


def _in(values) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _interaction_channels() -> list[str]:
    from vinculo.interactions.models import Interaction

    return [c for c in Interaction.Channel.values if c != INTERNAL]


def build(con: duckdb.DuckDBPyConnection, *, as_of: dt.date, time_zone: str) -> dict[str, int]:
    """Rebuild derived dimensions, the fact_sales view and every mart; return row counts."""
    _product_categories(con)
    _dim_date(con, as_of)
    _dim_region(con)
    _dim_campaign(con)
    _fact_sales_view(con)
    _customer_360(con, as_of)
    scores.apply_to_mart(con)  # the models' last results, so a refresh never blanks them
    _sales(con)
    _marketing_leads(con)
    return {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("mart_customer_360", "mart_sales", "mart_marketing_leads", "dim_date")
    }


def _product_categories(con) -> None:
    con.execute(
        """
        UPDATE dim_product p SET category_path = c.path, category_l1 = c.category_l1,
            category_l2 = c.category_l2, category_l3 = c.category_l3
        FROM dim_category c WHERE c.category_id = p.category_id
        """
    )
    con.execute(
        "UPDATE dim_product SET category_path = NULL, category_l1 = NULL, category_l2 = NULL, "
        "category_l3 = NULL WHERE category_id IS NULL "
        "OR category_id NOT IN (SELECT category_id FROM dim_category)"
    )


def _dim_date(con, as_of: dt.date) -> None:
    ((lo, hi),) = con.execute(
        """
        SELECT min(d), max(d) FROM (
            SELECT ordered_date AS d FROM fact_order
            UNION ALL SELECT occurred_date FROM fact_interaction
            UNION ALL SELECT created_date FROM fact_lead
            UNION ALL SELECT acquired_date FROM dim_customer
            UNION ALL SELECT CAST(? AS DATE)
        )
        """,
        [as_of],
    ).fetchall()
    con.execute(
        """
        CREATE OR REPLACE TABLE dim_date AS
        SELECT CAST(d AS DATE) AS date_key, year(d) AS year, quarter(d) AS quarter,
               month(d) AS month, CAST(date_trunc('month', d) AS DATE) AS month_start,
               weekofyear(d) AS iso_week, isodow(d) AS iso_day_of_week,
               isodow(d) >= 6 AS is_weekend
        FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY,
                   INTERVAL 1 DAY) AS t(d)
        ORDER BY date_key
        """,
        [lo, hi],
    )


def _dim_region(con) -> None:
    con.execute(
        """
        CREATE OR REPLACE TABLE dim_region AS
        SELECT row_number() OVER (ORDER BY country, region) AS region_key, country, region,
               count(*) AS customers
        FROM (SELECT coalesce(country, '') AS country, coalesce(region, '') AS region
              FROM dim_customer WHERE merged_into_id IS NULL)
        GROUP BY country, region ORDER BY region_key
        """
    )


def _dim_campaign(con) -> None:
    # No campaign model yet: campaigns are the source/campaign/UTM strings leads carry.
    con.execute(
        """
        CREATE OR REPLACE TABLE dim_campaign AS
        SELECT row_number() OVER (ORDER BY source, campaign, utm_source, utm_medium,
                                  utm_campaign) AS campaign_key, *
        FROM (SELECT DISTINCT coalesce(source, '') AS source, coalesce(campaign, '') AS campaign,
                     coalesce(utm_source, '') AS utm_source, coalesce(utm_medium, '') AS utm_medium,
                     coalesce(utm_campaign, '') AS utm_campaign FROM fact_lead)
        ORDER BY campaign_key
        """
    )


def _fact_sales_view(con) -> None:
    """Order lines with the bundle rule applied: a bundle's line carries its revenue and the
    cost of its components; component lines carry neither (they stay for units/baskets)."""
    con.execute(
        f"""
        CREATE OR REPLACE VIEW fact_sales AS
        SELECT l.*, l.status IN {_in(REVENUE_STATUSES)} AS is_revenue,
               CASE WHEN l.is_component THEN 0 ELSE l.quantity END AS units,
               CAST(CASE WHEN l.is_component THEN 0 WHEN b.cost IS NOT NULL THEN b.cost
                         ELSE l.line_cost END AS DECIMAL(14,2)) AS cost,
               CAST(l.revenue - CASE WHEN l.is_component THEN 0 WHEN b.cost IS NOT NULL
                         THEN b.cost ELSE l.line_cost END AS DECIMAL(14,2)) AS margin
        FROM fact_order_line l
        LEFT JOIN (SELECT bundle_line_id, sum(line_cost) AS cost FROM fact_order_line
                   WHERE is_component GROUP BY bundle_line_id) b
               ON b.bundle_line_id = l.order_line_id
        """
    )


def _customer_360(con, as_of: dt.date) -> None:
    channels = _interaction_channels()
    per_channel = ",\n".join(
        f"count(*) FILTER (WHERE channel = '{c}') AS interactions_{c}" for c in channels
    )
    channel_cols = ",\n".join(
        f"coalesce(i.interactions_{c}, 0) AS interactions_{c}" for c in channels
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE mart_customer_360 AS
        WITH o AS (
            SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at,
                   max(ordered_at) AS last_order_at, max(ordered_date) AS last_order_date
            FROM fact_order WHERE status IN {_in(REVENUE_STATUSES)} GROUP BY customer_id
        ), s AS (
            SELECT customer_id, sum(revenue) AS revenue, sum(cost) AS cost,
                   sum(margin) AS margin, sum(discount) AS discount, sum(units) AS units
            FROM fact_sales WHERE is_revenue GROUP BY customer_id
        ), i AS (
            SELECT customer_id, count(*) AS interactions, max(occurred_at) AS last_interaction_at,
                   {per_channel}
            FROM fact_interaction WHERE channel <> '{INTERNAL}' GROUP BY customer_id
        ), pc AS (
            SELECT customer_id, channel FROM (
                SELECT customer_id, channel, row_number() OVER (
                    PARTITION BY customer_id ORDER BY count(*) DESC, channel) AS rn
                FROM fact_interaction WHERE channel <> '{INTERNAL}'
                GROUP BY customer_id, channel)
            WHERE rn = 1
        ), op AS (
            SELECT customer_id,
                   count(*) FILTER (WHERE status = '{OPEN_OPPORTUNITY}') AS open_opportunities,
                   sum(amount) FILTER (WHERE status = '{OPEN_OPPORTUNITY}') AS open_pipeline,
                   count(*) FILTER (WHERE status = 'won') AS won_opportunities
            FROM fact_opportunity GROUP BY customer_id
        ), ld AS (
            SELECT customer_id, count(*) AS leads FROM fact_lead GROUP BY customer_id
        )
        SELECT c.customer_id, c.name, c.kind, c.lifecycle_stage, c.country, c.region, c.city,
               c.owner_id, u.full_name AS owner_name, c.team_id, t.name AS team_name,
               c.acquisition_source, c.acquired_date,
               o.first_order_at, o.last_order_at,
               coalesce(o.orders, 0) AS orders,
               CAST(coalesce(s.revenue, 0) AS DECIMAL(14,2)) AS revenue,
               CAST(coalesce(s.cost, 0) AS DECIMAL(14,2)) AS cost,
               CAST(coalesce(s.margin, 0) AS DECIMAL(14,2)) AS margin,
               CAST(coalesce(s.discount, 0) AS DECIMAL(14,2)) AS discount,
               coalesce(s.units, 0) AS units,
               CASE WHEN o.orders > 0 THEN CAST(round(s.revenue / o.orders, 2) AS DECIMAL(14,2))
                    END AS avg_order_value,
               CAST(? AS DATE) - o.last_order_date AS recency_days,
               coalesce(o.orders, 0) AS frequency,
               CAST(coalesce(s.revenue, 0) AS DECIMAL(14,2)) AS monetary,
               CAST(? AS DATE) - c.acquired_date AS tenure_days,
               coalesce(i.interactions, 0) AS interactions,
               {channel_cols},
               greatest(i.last_interaction_at, c.last_contact_at) AS last_contact_at,
               coalesce(op.open_opportunities, 0) AS open_opportunities,
               CAST(coalesce(op.open_pipeline, 0) AS DECIMAL(14,2)) AS open_pipeline_amount,
               coalesce(op.won_opportunities, 0) AS won_opportunities,
               coalesce(ld.leads, 0) AS leads,
               -- Placeholder: the most used interaction channel, until a preference model.
               pc.channel AS preferred_channel,
               -- Left for the analytics models (RFM, CLV, churn, propensity, clusters).
               CAST(NULL AS VARCHAR) AS rfm_segment, CAST(NULL AS INTEGER) AS rfm_score,
               CAST(NULL AS DECIMAL(14,2)) AS clv, CAST(NULL AS DOUBLE) AS churn_risk,
               CAST(NULL AS DOUBLE) AS propensity, CAST(NULL AS VARCHAR) AS cluster,
               CAST(? AS DATE) AS as_of
        FROM dim_customer c
        LEFT JOIN o USING (customer_id) LEFT JOIN s USING (customer_id)
        LEFT JOIN i USING (customer_id) LEFT JOIN pc USING (customer_id)
        LEFT JOIN op USING (customer_id) LEFT JOIN ld USING (customer_id)
        LEFT JOIN dim_user u ON u.user_id = c.owner_id
        LEFT JOIN dim_team t ON t.team_id = c.team_id
        WHERE c.merged_into_id IS NULL
        ORDER BY c.customer_id
        """,
        [as_of, as_of, as_of],
    )


def _sales(con) -> None:
    """Month × product category × channel × region × rep."""
    con.execute(
        """
        CREATE OR REPLACE TABLE mart_sales AS
        SELECT CAST(date_trunc('month', f.ordered_date) AS DATE) AS month,
               coalesce(p.category_l1, '') AS category_l1,
               coalesce(p.category_l2, '') AS category_l2,
               f.channel,
               coalesce(c.country, '') AS country, coalesce(c.region, '') AS region,
               coalesce(f.owner_id, c.owner_id) AS rep_id,
               count(DISTINCT f.order_id) AS orders,
               count(DISTINCT f.customer_id) AS customers,
               sum(f.units) AS units,
               CAST(sum(f.revenue) AS DECIMAL(14,2)) AS revenue,
               CAST(sum(f.discount) AS DECIMAL(14,2)) AS discount,
               CAST(sum(f.tax) AS DECIMAL(14,2)) AS tax,
               CAST(sum(f.cost) AS DECIMAL(14,2)) AS cost,
               CAST(sum(f.margin) AS DECIMAL(14,2)) AS margin
        FROM fact_sales f
        LEFT JOIN dim_product p USING (product_id)
        LEFT JOIN dim_customer c USING (customer_id)
        WHERE f.is_revenue
        GROUP BY ALL
        ORDER BY ALL
        """
    )


def _marketing_leads(con) -> None:
    """Leads by month, source and campaign (a placeholder mart until campaigns exist)."""
    con.execute(
        """
        CREATE OR REPLACE TABLE mart_marketing_leads AS
        SELECT CAST(date_trunc('month', created_date) AS DATE) AS month,
               coalesce(source, '') AS source, coalesce(campaign, '') AS campaign,
               count(*) AS leads,
               count(*) FILTER (WHERE status = 'converted') AS converted,
               count(*) FILTER (WHERE status = 'disqualified') AS disqualified,
               CAST(sum(acquisition_cost) AS DECIMAL(14,2)) AS acquisition_cost,
               CAST(sum(acquisition_cost) / count(*) AS DECIMAL(14,2)) AS cost_per_lead
        FROM fact_lead
        GROUP BY ALL
        ORDER BY ALL
        """
    )
