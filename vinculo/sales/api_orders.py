"""``/pricing/quote`` (price a cart) and ``/orders`` (create priced by the engine, status
moves with their stock effects).

Everything prices through the one engine (``pricing.price_cart``). Orders are visible when
their customer is, or when you own them; a hidden one answers 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT
from vinculo.core.errors import ValidationError
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import orders
from vinculo.sales.api_common import ERRORS, CartLineIn, PricingOut, cart_lines, page
from vinculo.sales.models import Order, OrderLine
from vinculo.sales.pricing import price_cart
from vinculo.sales.selectors import (
    order_for_user,
    visible_orders,
)

pricing_router = Router(tags=["pricing"])
orders_router = Router(tags=["orders"])


def check_channel(channel: str) -> None:
    if channel not in Order.Channel.values:
        raise ValidationError.for_field(
            "channel", _("Use one of: %(c)s.") % {"c": ", ".join(Order.Channel.values)}
        )


# --- pricing ----------------------------------------------------------------------------------


class PriceCartIn(Schema):
    customer_id: int | None = Field(None, description="Segment prices and customer limits")
    currency: str = "EUR"
    channel: str = Field(Order.Channel.WEB, description=", ".join(Order.Channel.values))
    lines: list[CartLineIn]
    coupon_codes: list[str] = []
    shipping: Decimal = Decimal("0")


@pricing_router.post("/quote", response={200: PricingOut, **ERRORS}, summary="Price a cart")
def price_quote(request, payload: PriceCartIn):
    """What this cart would cost: each line with the rule that priced it (price list or
    catalog), each promotion applied (with its amount) or refused (with its reason), and the
    totals. Writes nothing."""
    require(request.auth, "customers.view")
    customer_id = None
    if payload.customer_id is not None:
        customer_id = customer_for_user(user=request.auth, pk=payload.customer_id).pk
    check_channel(payload.channel)
    return price_cart(
        lines=cart_lines(payload.lines),
        customer_id=customer_id,
        channel=payload.channel,
        currency=payload.currency.strip().upper() or "EUR",
        coupon_codes=payload.coupon_codes,
        shipping=payload.shipping,
    )


# --- orders -----------------------------------------------------------------------------------


class OrderLineOut(Schema):
    id: int
    product_id: int
    bundle_line_id: int | None = Field(None, description="Set on a bundle's component lines")
    sku: str
    name: str
    options: list[dict]
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    changed_at: dt.datetime
    changed_by_id: int | None
    note: str


class OrderListItem(Schema):
    id: int
    number: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    channel: str
    status: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping: Decimal
    total: Decimal
    ordered_at: dt.datetime | None
    owner_id: int | None
    external_reference: str | None
    version: int


class OrderOut(OrderListItem):
    coupon_codes: list[str]
    lines: list[OrderLineOut]
    status_history: list[StatusChangeOut]
    allowed_statuses: list[str] = Field([], description="Where the order can go next")
    pricing: PricingOut | None = None

    @staticmethod
    def resolve_allowed_statuses(obj: Order) -> list[str]:
        return sorted(orders.TRANSITIONS.get(obj.status, set()))

    @staticmethod
    def resolve_pricing(obj: Order) -> dict | None:
        return obj.pricing or None


class OrderPage(Schema):
    items: list[OrderListItem]
    next_cursor: str | None = None


class OrderListQuery(Schema):
    q: str = Field("", description="Order number")
    status: str = ""
    channel: str = ""
    customer: int | None = None
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class OrderIn(Schema):
    customer_id: int
    channel: str = Order.Channel.REP
    currency: str = "EUR"
    lines: list[CartLineIn]
    coupon_codes: list[str] = []
    shipping: Decimal = Decimal("0")
    external_reference: str | None = Field(
        None, description="Idempotency: the same reference returns the existing order"
    )


class OrderStatusIn(Schema):
    status: str = Field(..., description=", ".join(Order.Status.values))
    version: int | None = Field(None, description="The version you read (409 when stale)")
    note: str = ""


def order_detail(user, pk: int) -> Order:
    order = order_for_user(user=user, pk=pk)
    prefetch_related_objects(
        [order], Prefetch("lines", queryset=OrderLine.objects.order_by("id")), "status_history"
    )
    return order


@orders_router.get("", response={200: OrderPage, **ERRORS}, summary="List orders")
def list_orders(request, query: Query[OrderListQuery]):
    """Orders you may see, newest first. Keyset-paginated."""
    require(request.auth, "customers.view")
    qs = visible_orders(request.auth).select_related("customer")
    if query.status:
        if query.status not in Order.Status.values:
            raise ValidationError.for_field("status", _("Unknown order status."))
        qs = qs.filter(status=query.status)
    if query.channel:
        check_channel(query.channel)
        qs = qs.filter(channel=query.channel)
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    if query.q.strip():
        qs = qs.filter(number__icontains=query.q.strip())
    return page(qs, "orders", (("id", "int"),), True, query.cursor, query.limit)


@orders_router.get("/{order_id}", response={200: OrderOut, **ERRORS}, summary="One order")
def get_order(request, order_id: int):
    """The order with its lines (bundle components under their bundle line) and history."""
    order = order_detail(request.auth, order_id)
    require(request.auth, "customers.view")
    return order


@orders_router.post("", response={201: OrderOut, **ERRORS}, summary="Create an order")
def create_order(request, payload: OrderIn):
    """A draft order priced by the engine; confirm it with a status change."""
    customer = customer_for_user(user=request.auth, pk=payload.customer_id)
    require(request.auth, "customers.edit")
    check_channel(payload.channel)
    order = orders.create_order(
        actor=request.auth,
        customer_id=customer.pk,
        lines=cart_lines(payload.lines),
        channel=payload.channel,
        currency=payload.currency.strip().upper() or "EUR",
        coupon_codes=payload.coupon_codes,
        shipping=payload.shipping,
        external_reference=payload.external_reference,
    )
    return Status(201, order_detail(request.auth, order.pk))


@orders_router.post(
    "/{order_id}/status", response={200: OrderOut, **ERRORS}, summary="Change the status"
)
def set_order_status(request, order_id: int, payload: OrderStatusIn):
    """Confirm (reserves stock; 409 when short), pay, ship, deliver, cancel (releases stock)
    or return. A move the order's status does not allow is 422 naming `status`."""
    order = order_for_user(user=request.auth, pk=order_id)
    require(request.auth, "customers.edit")
    orders.set_order_status(
        actor=request.auth,
        order_id=order.pk,
        status=payload.status,
        expected_version=payload.version,
        note=payload.note,
    )
    return order_detail(request.auth, order.pk)
