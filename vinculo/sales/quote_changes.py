"""A quote's life after it is made: edit a draft (re-priced by the pricing engine), the
customer rejects a sent one, open ones expire past their date, and a sent, rejected or
expired one is revised into a new draft. Every change is audited; rejections, expiries and
revisions are noted on the customer's timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import NotFound, ValidationError
from vinculo.sales import quotes
from vinculo.sales.models import Quote
from vinculo.sales.pricing import CartLine, price_cart

S = Quote.Status
MAX_REASON = 500
REVISABLE = (S.SENT, S.REJECTED, S.EXPIRED)


# --- edit a draft -------------------------------------------------------------------------------


def _snapshot(quote: Quote) -> dict:
    return {
        "lines": [[ln.sku, ln.quantity, list(ln.option_codes)] for ln in quote.lines.all()],
        "coupon_codes": list(quote.coupon_codes),
        "valid_until": quote.valid_until.isoformat(),
        "notes": quote.notes,
        "shipping": str(quote.shipping),
        "total": str(quote.total),
    }


def _check_valid_until(value: dt.date) -> None:
    today = timezone.localdate()
    if value < today:
        raise ValidationError.for_field(
            "valid_until", _("A quote cannot be valid until a day in the past.")
        )
    if value > today + dt.timedelta(days=quotes.MAX_VALID_DAYS):
        raise ValidationError.for_field(
            "valid_until", _("A quote is valid for at most 365 days from today.")
        )


def _parse_shipping(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        amount = Decimal("-1")
    if not amount.is_finite() or amount < 0:
        raise ValidationError.for_field("shipping", _("Shipping is an amount of 0 or more."))
    return amount


@transaction.atomic
def update_quote(
    *,
    actor,
    quote_id: int,
    expected_version: int | None,
    lines: Sequence[CartLine] | None = None,
    coupon_codes: Sequence[str] | None = None,
    valid_until: dt.date | None = None,
    notes: str | None = None,
    shipping: Decimal | str | int | None = None,
) -> Quote:
    """Change a draft quote (arguments left as None keep their value) and re-price it with
    the pricing engine at today's prices. Only drafts: what the customer was sent stays as
    sent (revise it instead). A stale ``expected_version`` is refused with Conflict. Atomic
    and audited; all or nothing."""
    quote = quotes.lock_quote(quote_id, expected_version)
    if quote.status != S.DRAFT:
        raise ValidationError.for_field(
            "status",
            _("Only a draft quote can be edited; revise this one to make a new draft."),
        )
    cart = list(lines) if lines is not None else quotes.quote_cart(quote)
    if not cart:
        raise ValidationError.for_field("lines", _("Add at least one product line."))
    if valid_until is not None:
        _check_valid_until(valid_until)
    codes = quote.coupon_codes if coupon_codes is None else coupon_codes
    codes = [c.strip().upper() for c in codes if c and c.strip()]
    ship = quotes.quote_shipping(quote) if shipping is None else _parse_shipping(shipping)
    result = price_cart(
        lines=cart,
        customer_id=quote.customer_id,
        channel=quote.channel,
        currency=quote.currency,
        coupon_codes=codes,
        shipping=ship,
    )
    before = _snapshot(quote)
    quote.coupon_codes = codes
    if valid_until is not None:
        quote.valid_until = valid_until
    if notes is not None:
        quote.notes = notes.strip()
    quotes.apply_pricing(quote, result)
    quote.lines.all().delete()
    quotes.write_lines(quote, result, cart)
    changes = audit.diff(before, _snapshot(quote))
    if not changes:
        return quote
    quote.version += 1
    quote.save()
    audit.record(
        actor=actor, action="update", obj=quote, customer_id=quote.customer_id, changes=changes
    )
    return quote


# --- reject -------------------------------------------------------------------------------------


@transaction.atomic
def reject_quote(
    *, actor, quote_id: int, reason: str, expected_version: int | None = None
) -> Quote:
    """The customer turned a sent quote down: mark it rejected with their reason, audited and
    noted on the timeline. Idempotent: rejecting a rejected quote changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError.for_field("reason", _("Say why the customer rejected the quote."))
    if len(reason) > MAX_REASON:
        raise ValidationError.for_field(
            "reason", _("Keep the reason under %(n)s characters.") % {"n": MAX_REASON}
        )
    quote = quotes.lock_quote(quote_id, expected_version)
    if quote.status == S.REJECTED:
        return quote
    if quote.status != S.SENT:
        message = {
            S.DRAFT: _("Only a sent quote can be rejected; this one was never sent."),
            S.ACCEPTED: _("This quote was accepted and became an order; it cannot be rejected."),
            S.EXPIRED: _("This quote already expired; it cannot be rejected."),
        }[S(quote.status)]
        raise ValidationError.for_field("status", message)
    quote.status, quote.rejected_at, quote.rejection_reason = S.REJECTED, timezone.now(), reason
    quote.version += 1
    quote.save()
    audit.record(
        actor=actor,
        action="update",
        obj=quote,
        customer_id=quote.customer_id,
        changes={"status": [S.SENT.value, S.REJECTED.value], "rejection_reason": [None, reason]},
    )
    quotes.note(
        actor,
        quote,
        _("Quote %(number)s rejected: %(reason)s") % {"number": quote.number, "reason": reason},
        reason,
    )
    return quote


# --- expire -------------------------------------------------------------------------------------


def expire_quotes(*, today: dt.date | None = None) -> int:
    """Mark every draft or sent quote past its valid-until date as expired; returns how many.
    One short transaction per quote (its audit row and timeline note with it), so a failure
    keeps the ones already done. Idempotent: a second run finds nothing to do."""
    today = today or timezone.localdate()
    ids = list(
        Quote.objects.filter(status__in=quotes.OPEN_STATUSES, valid_until__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if _expire_one(pk, today))


@transaction.atomic
def _expire_one(quote_id: int, today: dt.date) -> bool:
    try:
        quote = quotes.lock_quote(quote_id)
    except NotFound:
        return False
    # Re-checked under the lock: it may have been accepted or given a later date meanwhile.
    if quote.status not in quotes.OPEN_STATUSES or not quotes.is_expired(quote, today):
        return False
    before = quote.status
    quote.status = S.EXPIRED
    quote.version += 1
    quote.save()
    audit.record(
        actor=None,
        action="update",
        obj=quote,
        customer_id=quote.customer_id,
        changes={"status": [before, S.EXPIRED.value]},
    )
    quotes.note(
        None,
        quote,
        _("Quote %(number)s expired (valid until %(date)s)")
        % {"number": quote.number, "date": formats.date_format(quote.valid_until)},
    )
    return True


# --- revise -------------------------------------------------------------------------------------


@transaction.atomic
def revise_quote(*, actor, quote_id: int, valid_days: int = quotes.DEFAULT_VALID_DAYS) -> Quote:
    """A new draft copied from a sent, rejected or expired quote (same customer, opportunity,
    lines, coupon codes, shipping and notes), priced at today's prices, with a new number
    and a link to the quote it revises. The revised quote is left as it was, so the
    customer's history keeps what was offered. Atomic."""
    original = quotes.lock_quote(quote_id)
    if original.status not in REVISABLE:
        message = (
            _("A draft can be edited directly; there is nothing to revise.")
            if original.status == S.DRAFT
            else _("This quote was accepted and became an order; it cannot be revised.")
        )
        raise ValidationError.for_field("status", message)
    return quotes.create_quote(
        actor=actor,
        customer_id=original.customer_id,
        lines=quotes.quote_cart(original),
        opportunity_id=original.opportunity_id,
        valid_days=valid_days,
        coupon_codes=original.coupon_codes,
        currency=original.currency,
        channel=original.channel,
        shipping=quotes.quote_shipping(original),
        notes=original.notes,
        revises_id=original.pk,
    )
