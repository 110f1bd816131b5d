"""The analytics warehouse: a DuckDB file with a customer-centred star schema and marts,
fed by an incremental ETL from the operational database.

    from vinculo.analytics import warehouse
    warehouse.refresh()                       # incremental; refresh(full=True) rebuilds
    warehouse.query("SELECT * FROM mart_customer_360 WHERE customer_id = ?", [42])

Tables: dim_customer, dim_product (category_l1/l2/l3), dim_category, dim_date, dim_channel,
dim_campaign, dim_user, dim_team, dim_region; fact_order, fact_order_line (+ the
fact_sales view), fact_interaction, fact_opportunity, fact_stage_history, fact_lead;
marts mart_customer_360, mart_sales, mart_marketing_leads; meta_watermark, meta_refresh.
"""

from __future__ import annotations

from vinculo.analytics.warehouse.connection import connect, query, query_frame, warehouse_path
from vinculo.analytics.warehouse.etl import RefreshResult, SourceStats, refresh, status
from vinculo.analytics.warehouse.sources import REGISTRY, Col, Source, register

__all__ = [
    "REGISTRY",
    "Col",
    "RefreshResult",
    "Source",
    "SourceStats",
    "connect",
    "query",
    "query_frame",
    "refresh",
    "register",
    "status",
    "warehouse_path",
]
