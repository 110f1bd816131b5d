"""Panels the customer 360° page embeds from sales (the customer's latest orders and quotes)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from vinculo.accounts.permissions import can

register = template.Library()

SHOWN = 5


@register.simple_tag(takes_context=True)
def customer_orders_panel(context, customer):
    """{% customer_orders_panel customer %}: the latest orders and quotes of a customer the
    page has already shown to the user (so its orders and quotes are visible too)."""
    from vinculo.sales.models import Order, Quote

    request = context.get("request")
    orders = list(
        Order.objects.filter(customer_id=customer.pk)
        .only("pk", "number", "status", "total", "currency", "ordered_at")
        .order_by("-ordered_at", "-id")[: SHOWN + 1]
    )
    quotes = list(
        Quote.objects.filter(customer_id=customer.pk)
        .only("pk", "number", "status", "total", "currency", "created_at")
        .order_by("-created_at", "-id")[:SHOWN]
    )
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
