"""``/pricing/quote`` (price a cart), ``/quotes`` (create from an opportunity or lines, PDF,
email, accept into an order) and ``/orders`` (create priced by the engine, status moves).

Everything prices through the one engine (``pricing.price_cart``). Quotes and orders are
visible when their customer is, or when you own them; a hidden one answers 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from vinculo.core.errors import ValidationError
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import orders, quotes
from vinculo.sales.api_common import ERRORS, CartLineIn, PricingOut, cart_lines
from vinculo.sales.models import Order, OrderLine, Quote
from vinculo.sales.pricing import price_cart
from vinculo.sales.selectors import (
    opportunity_for_user,
    order_for_user,
    quote_for_user,
    visible_orders,
    visible_quotes,
)

pricing_router = Router(tags=["pricing"])
quotes_router = Router(tags=["quotes"])
orders_router = Router(tags=["orders"])


def _check_channel(channel: str) -> None:
    if channel not in Order.Channel.values:
        raise ValidationError.for_field(
            "channel", _("Use one of: %(c)s.") % {"c": ", ".join(Order.Channel.values)}
        )


def _page(qs, key: str, cursor: str | None, limit: int) -> dict:
    rows, next_cursor = keyset_page(
        qs, key=key, order=(("id", "int"),), descending=True, cursor=cursor, limit=limit
    )
    return {"items": rows, "next_cursor": next_cursor}


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
    _check_channel(payload.channel)
    return price_cart(
        lines=cart_lines(payload.lines),
        customer_id=customer_id,
        channel=payload.channel,
        currency=payload.currency.strip().upper() or "EUR",
        coupon_codes=payload.coupon_codes,
        shipping=payload.shipping,
    )


# --- quotes -----------------------------------------------------------------------------------


class QuoteLineOut(Schema):
    product_id: int
    sku: str
    name: str
    option_codes: list[str]
    quantity: int
    unit_price: Decimal
    price_rule: str
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


class QuoteListItem(Schema):
    id: int
    number: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    opportunity_id: int | None
    order_id: int | None
    status: str
    valid_until: dt.date
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping: Decimal
    total: Decimal
    owner_id: int | None
    sent_at: dt.datetime | None
    accepted_at: dt.datetime | None
    created_at: dt.datetime
    version: int


class QuoteOut(QuoteListItem):
    channel: str
    coupon_codes: list[str]
    notes: str
    lines: list[QuoteLineOut]
    pricing: PricingOut | None = Field(None, description="The engine's answer when quoted")

    @staticmethod
    def resolve_pricing(obj: Quote) -> dict | None:
        return obj.pricing or None


class QuotePage(Schema):
    items: list[QuoteListItem]
    next_cursor: str | None = None


class QuoteListQuery(Schema):
    status: str = ""
    customer: int | None = None
    opportunity: int | None = None
    owner: str = Field("", description="`me` or a user id")
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class QuoteIn(Schema):
    opportunity_id: int | None = Field(None, description="Quote this opportunity")
    customer_id: int | None = Field(None, description="Without an opportunity")
    lines: list[CartLineIn] = Field([], description="Defaults to the opportunity's lines")
    coupon_codes: list[str] = []
    currency: str | None = Field(None, description="Defaults to the opportunity's, or EUR")
    channel: str = Order.Channel.REP
    valid_days: int = Field(quotes.DEFAULT_VALID_DAYS, ge=1, le=365)
    shipping: Decimal = Decimal("0")
    notes: str = ""


class SendQuoteIn(Schema):
    to_email: str = Field("", description="Defaults to the customer's primary email")


class AcceptQuoteIn(Schema):
    channel: str = Order.Channel.REP


def _quote_detail(user, pk: int) -> Quote:
    quote = quote_for_user(user=user, pk=pk)
    prefetch_related_objects([quote], "lines")
    return quote


@quotes_router.get("", response={200: QuotePage, **ERRORS}, summary="List quotes")
def list_quotes(request, query: Query[QuoteListQuery]):
    """Quotes you may see, newest first. Keyset-paginated."""
    require(request.auth, "customers.view")
    qs = visible_quotes(request.auth).select_related("customer")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    if query.opportunity:
        qs = qs.filter(opportunity_id=query.opportunity)
    if query.owner == "me":
        qs = qs.filter(owner_id=request.auth.pk)
    elif query.owner:
        if not query.owner.isdigit():
            raise ValidationError.for_field("owner", _("Use “me” or a user id."))
        qs = qs.filter(owner_id=int(query.owner))
    return _page(qs, "quotes", query.cursor, query.limit)


@quotes_router.get("/{quote_id}", response={200: QuoteOut, **ERRORS}, summary="One quote")
def get_quote(request, quote_id: int):
    """The quote with its priced lines and the promotions applied or refused."""
    quote = _quote_detail(request.auth, quote_id)
    require(request.auth, "customers.view")
    return quote


@quotes_router.post("", response={201: QuoteOut, **ERRORS}, summary="Create a quote")
def create_quote(request, payload: QuoteIn):
    """Quote an opportunity (its product lines unless you send `lines`) or a customer's
    cart, priced by the engine, with coupon codes."""
    require(request.auth, "customers.edit")
    _check_channel(payload.channel)
    lines = cart_lines(payload.lines)
    common = {
        "coupon_codes": payload.coupon_codes,
        "channel": payload.channel,
        "valid_days": payload.valid_days,
        "shipping": payload.shipping,
        "notes": payload.notes,
    }
    if payload.opportunity_id is not None:
        opp = opportunity_for_user(user=request.auth, pk=payload.opportunity_id)
        if not lines:
            quote = quotes.create_quote_from_opportunity(
                actor=request.auth, opportunity_id=opp.pk, **common
            )
            return Status(201, _quote_detail(request.auth, quote.pk))
        customer_id, currency = opp.customer_id, payload.currency or opp.currency
    elif payload.customer_id is not None:
        customer_id = customer_for_user(user=request.auth, pk=payload.customer_id).pk
        currency = payload.currency or "EUR"
    else:
        raise ValidationError.for_field(
            "opportunity_id", _("Give an opportunity (or a customer and lines).")
        )
    quote = quotes.create_quote(
        actor=request.auth,
        customer_id=customer_id,
        lines=lines,
        opportunity_id=payload.opportunity_id,
        currency=currency,
        **common,
    )
    return Status(201, _quote_detail(request.auth, quote.pk))


@quotes_router.get(
    "/{quote_id}/pdf",
    response={200: None, **ERRORS},
    summary="The quote as PDF",
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def quote_pdf(request, quote_id: int):
    quote = _quote_detail(request.auth, quote_id)
    require(request.auth, "customers.view")
    response = HttpResponse(quotes.render_quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.number}.pdf"'
    return response


@quotes_router.post("/{quote_id}/send", response={200: QuoteOut, **ERRORS}, summary="Email it")
def send_quote(request, quote_id: int, payload: SendQuoteIn):
    """Email the PDF to the customer. The mail leaves once the change is saved; a quote
    that cannot be sent (no address, already accepted) sends nothing."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    quotes.send_quote(actor=request.auth, quote_id=quote.pk, to_email=payload.to_email)
    return _quote_detail(request.auth, quote.pk)


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


def _order_detail(user, pk: int) -> Order:
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
        _check_channel(query.channel)
        qs = qs.filter(channel=query.channel)
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    if query.q.strip():
        qs = qs.filter(number__icontains=query.q.strip())
    return _page(qs, "orders", query.cursor, query.limit)


@orders_router.get("/{order_id}", response={200: OrderOut, **ERRORS}, summary="One order")
def get_order(request, order_id: int):
    """The order with its lines (bundle components under their bundle line) and history."""
    order = _order_detail(request.auth, order_id)
    require(request.auth, "customers.view")
    return order


@orders_router.post("", response={201: OrderOut, **ERRORS}, summary="Create an order")
def create_order(request, payload: OrderIn):
    """A draft order priced by the engine; confirm it with a status change."""
    customer = customer_for_user(user=request.auth, pk=payload.customer_id)
    require(request.auth, "customers.edit")
    _check_channel(payload.channel)
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
    return Status(201, _order_detail(request.auth, order.pk))


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
    return _order_detail(request.auth, order.pk)


@quotes_router.post(
    "/{quote_id}/accept", response={200: OrderOut, 201: OrderOut, **ERRORS}, summary="Accept"
)
def accept_quote(request, quote_id: int, payload: AcceptQuoteIn):
    """The customer accepted: a draft order at the quoted prices (201). Accepting again
    returns the same order (200). If prices changed since, 409 and no order."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    _check_channel(payload.channel)
    already = quote.order_id is not None
    order = quotes.accept_quote(actor=request.auth, quote_id=quote.pk, channel=payload.channel)
    return Status(200 if already else 201, _order_detail(request.auth, order.pk))
