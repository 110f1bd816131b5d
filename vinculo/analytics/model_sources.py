"""Warehouse sources the segmentation models need beyond the core star schema, registered
when the app loads (``AnalyticsConfig.ready``) so every refresh extracts them.

``dim_customer_profile`` says which contact data a customer record has — flags only, never
the email or phone itself (the warehouse does not need them, and so does not hold them):
the CRM-adoption report measures data completeness from it."""

from __future__ import annotations

from vinculo.analytics.warehouse.sources import Col, Source, register


def _customers():
    from vinculo.customers.models import Customer

    return Customer.objects.all()


def _filled(col: str) -> str:
    return f"coalesce(CAST({col} AS VARCHAR), '') <> ''"


CUSTOMER_PROFILE = register(
    Source(
        name="customer_profile",
        table="dim_customer_profile",
        key="customer_id",
        kind="dimension",
        queryset=_customers,
        watermark="updated_at",
        columns=(
            Col("customer_id", "BIGINT", "id"),
            Col("has_email", "BOOLEAN", "email", _filled("has_email")),
            Col("has_phone", "BOOLEAN", "phone", _filled("has_phone")),
            Col("has_city", "BOOLEAN", "city", _filled("has_city")),
            # Custom field values (a JSON object as text): filled when not empty.
            Col(
                "has_custom_fields",
                "BOOLEAN",
                "attributes",
                "coalesce(CAST(has_custom_fields AS VARCHAR), '') NOT IN ('', '{}', 'null')",
            ),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)
