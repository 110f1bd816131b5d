"""``/quotes``: list, read, create from an opportunity (its product lines, or the ones you
send) with coupon codes, edit a draft, the PDF, email it to the customer, accept it into an
order, record the customer's rejection, revise it into a new draft.
A quote is visible when its customer is, or when you own it; a hidden one answers 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT
from vinculo.core.errors import ValidationError
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import quote_changes, quotes
from vinculo.sales.api_common import ERRORS, CartLineIn, PricingOut, cart_lines, page
from vinculo.sales.api_orders import OrderOut, check_channel, order_detail
from vinculo.sales.models import Order, Quote
from vinculo.sales.selectors import opportunity_for_user, quote_for_user, visible_quotes

quotes_router = Router(tags=["quotes"])


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
    rejected_at: dt.datetime | None
    rejection_reason: str
    revises_id: int | None = Field(None, description="The quote this one revises")
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


class QuotePatchIn(Schema):
    """Fields left out keep their value; the draft is re-priced at today's prices."""

    version: int = Field(..., description="The version you read; a stale one answers 409")
    lines: list[CartLineIn] | None = Field(None, description="Replace every line")
    coupon_codes: list[str] | None = None
    valid_until: dt.date | None = Field(None, description="Today up to 365 days from today")
    notes: str | None = None
    shipping: Decimal | None = None


class RejectQuoteIn(Schema):
    reason: str = Field(..., description="Why the customer rejected it (up to 500 characters)")
    version: int | None = Field(None, description="The version you read (409 when stale)")


class ReviseQuoteIn(Schema):
    valid_days: int = Field(quotes.DEFAULT_VALID_DAYS, ge=1, le=365)


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
        if query.status not in Quote.Status.values:
            raise ValidationError.for_field(
                "status",
                _("Use one of: %(statuses)s.") % {"statuses": ", ".join(Quote.Status.values)},
            )
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
    return page(qs, "quotes", (("id", "int"),), True, query.cursor, query.limit)


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
    if payload.opportunity_id is not None:
        opp = opportunity_for_user(user=request.auth, pk=payload.opportunity_id)
        customer_id, currency = opp.customer_id, payload.currency or opp.currency
    elif payload.customer_id is not None:
        customer_id = customer_for_user(user=request.auth, pk=payload.customer_id).pk
        currency = payload.currency or "EUR"
    else:
        raise ValidationError.for_field(
            "opportunity_id", _("Give an opportunity (or a customer and lines).")
        )
    require(request.auth, "customers.edit")
    check_channel(payload.channel)
    lines = cart_lines(payload.lines)
    common = {
        "coupon_codes": payload.coupon_codes,
        "channel": payload.channel,
        "valid_days": payload.valid_days,
        "shipping": payload.shipping,
        "notes": payload.notes,
    }
    if payload.opportunity_id is not None and not lines:
        quote = quotes.create_quote_from_opportunity(
            actor=request.auth, opportunity_id=payload.opportunity_id, **common
        )
        return Status(201, _quote_detail(request.auth, quote.pk))
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


@quotes_router.post(
    "/{quote_id}/accept", response={200: OrderOut, 201: OrderOut, **ERRORS}, summary="Accept"
)
def accept_quote(request, quote_id: int, payload: AcceptQuoteIn):
    """The customer accepted: a draft order at the quoted prices (201). Accepting again
    returns the same order (200). If prices changed since, 409 and no order."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    check_channel(payload.channel)
    already = quote.order_id is not None
    order = quotes.accept_quote(actor=request.auth, quote_id=quote.pk, channel=payload.channel)
    return Status(200 if already else 201, order_detail(request.auth, order.pk))


@quotes_router.patch("/{quote_id}", response={200: QuoteOut, **ERRORS}, summary="Edit a draft")
def update_quote(request, quote_id: int, payload: QuotePatchIn):
    """Change a draft's lines, coupon codes, validity, notes or shipping; it is re-priced by
    the engine. All or nothing: 409 when `version` is stale, 422 naming each bad field
    (a quote already sent is not edited: revise it)."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    quote_changes.update_quote(
        actor=request.auth,
        quote_id=quote.pk,
        expected_version=payload.version,
        lines=cart_lines(payload.lines) if payload.lines is not None else None,
        coupon_codes=payload.coupon_codes,
        valid_until=payload.valid_until,
        notes=payload.notes,
        shipping=payload.shipping,
    )
    return _quote_detail(request.auth, quote.pk)


@quotes_router.post("/{quote_id}/reject", response={200: QuoteOut, **ERRORS}, summary="Reject")
def reject_quote(request, quote_id: int, payload: RejectQuoteIn):
    """The customer turned a sent quote down: it is marked rejected with the reason and noted
    on the customer's timeline. Rejecting it again changes nothing (200)."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    quote_changes.reject_quote(
        actor=request.auth,
        quote_id=quote.pk,
        reason=payload.reason,
        expected_version=payload.version,
    )
    return _quote_detail(request.auth, quote.pk)


@quotes_router.post("/{quote_id}/revise", response={201: QuoteOut, **ERRORS}, summary="Revise")
def revise_quote(request, quote_id: int, payload: ReviseQuoteIn):
    """A new draft copied from a sent, rejected or expired quote, priced at today's prices,
    with `revises_id` naming the original (which stays as it was)."""
    quote = quote_for_user(user=request.auth, pk=quote_id)
    require(request.auth, "customers.edit")
    revision = quote_changes.revise_quote(
        actor=request.auth, quote_id=quote.pk, valid_days=payload.valid_days
    )
    return Status(201, _quote_detail(request.auth, revision.pk))
