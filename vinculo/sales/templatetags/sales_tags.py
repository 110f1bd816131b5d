"""Panels the customer 360° page embeds from sales (the customer's latest orders and quotes)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from vinculo.accounts.permissions import can
from vinculo.core.fast import rows_by_id

register = template.Library()

SHOWN = 5


def _latest_orders(customer_id: int):
    from vinculo.sales.models import Order

    return (
        Order.objects.filter(customer_id=customer_id)
        .only("pk", "number", "status", "total", "currency", "ordered_at")
        .order_by("-ordered_at", "-id")[: SHOWN + 1]
    )


def _latest_quotes(customer_id: int):
    from vinculo.sales.models import Quote

    return (
        Quote.objects.filter(customer_id=customer_id)
        .only("pk", "number", "status", "total", "currency", "created_at")
        .order_by("-created_at", "-id")[:SHOWN]
    )


@register.simple_tag(takes_context=True)
def customer_orders_panel(context, customer):
    """{% customer_orders_panel customer %}: the latest orders and quotes of a customer the
    page has already shown to the user (so its orders and quotes are visible too)."""
    request = context.get("request")
    # Compiled once per process (core.fast.rows_by_id, decision 0014).
    orders = rows_by_id("customer.orders_panel", _latest_orders, customer.pk)
    quotes = rows_by_id("customer.quotes_panel", _latest_quotes, customer.pk)
    return render_to_string(
        "sales/_customer_orders.html",
        {
            "customer": customer,
            "orders": orders[:SHOWN],
            "more_orders": len(orders) > SHOWN,
            "quotes": quotes,
            "can_edit": can(getattr(request, "user", None), "customers.edit"),
        },
        request=request,
    )
