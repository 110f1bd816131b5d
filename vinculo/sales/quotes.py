"""Quotes: priced by the pricing engine, rendered to PDF, emailed to the customer (on commit),
accepted into an order."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.normalize import normalize_email
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions import services as interaction_services
from vinculo.interactions.models import Interaction
from vinculo.sales import orders
from vinculo.sales.models import Opportunity, Quote, QuoteLine
from vinculo.sales.pricing import CartLine, PricingResult, price_cart

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 365
# Quotes that can still be sent, accepted or expire: the others are closed for good.
OPEN_STATUSES = (Quote.Status.DRAFT, Quote.Status.SENT)


def note(actor, quote: Quote, subject: str, body: str = "") -> None:
    """A note about ``quote`` on its customer's timeline."""
    interaction_services.log_interaction(
        actor=actor,
        customer_id=quote.customer_id,
        kind=Interaction.Kind.NOTE,
        subject=subject[:255],
        body=body,
        related=quote,
    )


def quote_cart(quote: Quote) -> list[CartLine]:
    """The quote's lines as a cart for the pricing engine."""
    return [
        CartLine(ln.product_id, ln.quantity, tuple(ln.option_codes)) for ln in quote.lines.all()
    ]


def quote_shipping(quote: Quote) -> Decimal:
    pricing = quote.pricing if isinstance(quote.pricing, dict) else {}
    return Decimal(str(pricing.get("shipping", "0")))


def _number() -> str:
    return timezone.now().strftime("Q-%Y%m%d-") + get_random_string(
        5, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    )


@transaction.atomic
def create_quote(
    *,
    actor,
    customer_id: int,
    lines: Sequence[CartLine],
    opportunity_id: int | None = None,
    valid_days: int = DEFAULT_VALID_DAYS,
    coupon_codes: Sequence[str] = (),
    currency: str = "EUR",
    channel: str = "rep",
    shipping: Decimal | str | int = 0,
    notes: str = "",
    revises_id: int | None = None,
) -> Quote:
    """Create a draft quote priced by the pricing engine (every line keeps its price rule).
    ``revises_id`` links it to the quote it revises (see ``quote_changes.revise_quote``)."""
    customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
    if customer is None:
        raise ValidationError.for_field("customer_id", _("Choose an existing customer."))
    if not 1 <= int(valid_days) <= MAX_VALID_DAYS:
        raise ValidationError.for_field("valid_days", _("A quote is valid 1 to 365 days."))
    result = price_cart(
        lines=lines,
        customer_id=customer.pk,
        channel=channel,
        currency=currency,
        coupon_codes=coupon_codes,
        shipping=shipping,
    )
    quote = Quote(
        number=_number(),
        customer=customer,
        opportunity_id=opportunity_id,
        channel=channel,
        valid_until=timezone.localdate() + dt.timedelta(days=int(valid_days)),
        coupon_codes=[c.strip().upper() for c in coupon_codes if c.strip()],
        notes=(notes or "").strip(),
        owner=actor if getattr(actor, "is_authenticated", False) else None,
        revises_id=revises_id,
    )
    apply_pricing(quote, result)
    quote.save()
    write_lines(quote, result, lines)
    changes = {"number": [None, quote.number], "total": [None, quote.total]}
    if revises_id is not None:
        changes["revises"] = [None, quote.revises.number]
    audit.record(actor=actor, action="create", obj=quote, customer_id=customer.pk, changes=changes)
    values = {"number": quote.number, "total": quote.total, "currency": quote.currency}
    if revises_id is not None:
        values["old"] = quote.revises.number
        subject = _("Quote %(number)s made, revising %(old)s: %(total)s %(currency)s") % values
    else:
        subject = _("Quote %(number)s made: %(total)s %(currency)s") % values
    note(actor, quote, subject)
    return quote


def create_quote_from_opportunity(*, actor, opportunity_id: int, **kwargs) -> Quote:
    """A quote with the opportunity's product lines, for its customer."""
    opp = Opportunity.objects.get(pk=opportunity_id)
    lines = [CartLine(ln.product_id, ln.quantity, tuple(ln.option_codes)) for ln in opp.lines.all()]
    if not lines:
        raise ValidationError.for_field("lines", _("Add products to the opportunity first."))
    return create_quote(
        actor=actor,
        customer_id=opp.customer_id,
        lines=lines,
        opportunity_id=opp.pk,
        currency=opp.currency,
        **kwargs,
    )


def lock_quote(quote_id: int, expected_version: int | None = None) -> Quote:
    """Lock the customer, then the quote (the fixed order: a customer before its children;
    the timeline note locks the customer too) and check the caller's version."""
    customer_id = Quote.objects.filter(pk=quote_id).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise NotFound(_("Quote not found."))
    customer_services.lock_customer(customer_id=customer_id, expected_version=None)
    quote = Quote.objects.select_for_update().select_related("customer").get(pk=quote_id)
    if expected_version not in (None, "") and int(expected_version) != quote.version:
        raise Conflict(
            _(
                "This quote was changed by someone else since you opened it "
                "(version %(theirs)s, yours %(yours)s). Reload and try again."
            )
            % {"theirs": quote.version, "yours": expected_version}
        )
    return quote


def is_expired(quote: Quote, today: dt.date | None = None) -> bool:
    """The one expiry rule: a quote holds through its whole ``valid_until`` day and is expired
    from the next (or once marked expired). ``quote_changes.expire_quotes`` selects with the
    same comparison (``valid_until < today``)."""
    if quote.status == Quote.Status.EXPIRED:
        return True
    return quote.valid_until < (today or timezone.localdate())


def refuse_if_expired(quote: Quote) -> None:
    """ValidationError on ``valid_until`` when the quote is expired: nothing is sent or
    ordered from it; it can be revised into a new quote."""
    if is_expired(quote):
        raise ValidationError.for_field(
            "valid_until",
            _("This quote expired on %(date)s. Revise it to make a new quote.")
            % {"date": formats.date_format(quote.valid_until)},
        )


def replacement(quote: Quote) -> Quote | None:
    """The quote that now stands for this one: its newest revision, followed to the end of the
    chain (a revision revised again), or None if it was never revised."""
    current, seen = quote, {quote.pk}
    while True:
        newer = (
            Quote.objects.filter(revises_id=current.pk)
            .order_by("-created_at", "-pk")
            .only("pk", "number", "status")
            .first()
        )
        if newer is None or newer.pk in seen:
            return None if current is quote else current
        current = newer
        seen.add(newer.pk)


def refuse_if_replaced(quote: Quote, *, action: str) -> None:
    """The one rule for a revised quote: the customer must not be sent, nor accept, a quote a
    newer revision replaces (ValidationError on ``status`` naming the revision). ``action`` is
    "accept" or "send"."""
    newer = replacement(quote)
    if newer is None:
        return
    if action == "send":
        message = _("Quote %(number)s replaces this one; send that one instead.")
    else:
        message = _("Quote %(number)s replaces this one; accept that one instead.")
    raise ValidationError.for_field("status", message % {"number": newer.number})


def apply_pricing(quote: Quote, result: PricingResult) -> None:
    """Copy the engine's totals and answer onto the quote (not saved)."""
    quote.currency = result.currency
    quote.subtotal, quote.discount_total = result.subtotal, result.discount_total
    quote.tax_total, quote.total = result.tax_total, result.total
    quote.shipping = result.shipping - result.shipping_discount
    quote.pricing = result.as_dict()


def write_lines(quote: Quote, result: PricingResult, cart: Sequence[CartLine]) -> None:
    """Save the priced lines of a saved quote (each with the rule that priced it)."""
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            product_id=p.product_id,
            sku=p.sku,
            name=p.name,
            option_codes=list(c.option_codes),
            quantity=p.quantity,
            unit_price=p.unit_price,
            price_rule=p.price_rule,
            discount=p.discount,
            tax_rate=p.tax_rate,
            tax=p.tax,
            total=p.total,
        )
        for p, c in zip(result.lines, cart, strict=True)
    )


# --- PDF ----------------------------------------------------------------------------------------


def render_quote_pdf(quote: Quote, *, language: str | None = None) -> bytes:
    """The quote as an A4 PDF (reportlab; standard fonts cover Spanish and the euro sign)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    lang = language or quote.customer.language or translation.get_language() or "en"
    with translation.override(lang):
        styles = getSampleStyleSheet()
        buf = io.BytesIO()
        doc = SimpleDocTemplate(
            buf,
            pagesize=A4,
            title=f"{_('Quote')} {quote.number}",
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
        )

        def m(value) -> str:
            return (
                f"{formats.number_format(value, 2, use_l10n=True, force_grouping=True)} "
                f"{quote.currency}"
            )

        story = [
            Paragraph(f"{_('Quote')} {quote.number}", styles["Title"]),
            Paragraph(_("For: %(name)s") % {"name": quote.customer.name}, styles["Normal"]),
            Paragraph(
                _("Date: %(date)s · valid until %(until)s")
                % {
                    "date": formats.date_format(timezone.localtime(quote.created_at).date()),
                    "until": formats.date_format(quote.valid_until),
                },
                styles["Normal"],
            ),
            Spacer(1, 8 * mm),
        ]
        rows = [[_("Product"), _("Qty"), _("Unit price"), _("Discount"), _("Tax"), _("Total")]]
        for ln in quote.lines.all():
            label = f"{ln.name}<br/><font size=7>{ln.sku} · {ln.price_rule}</font>"
            rows.append(
                [
                    Paragraph(label, styles["Normal"]),
                    str(ln.quantity),
                    m(ln.unit_price),
                    m(ln.discount),
                    m(ln.tax),
                    m(ln.total),
                ]
            )
        table = Table(
            rows, colWidths=[70 * mm, 12 * mm, 24 * mm, 22 * mm, 22 * mm, 24 * mm], repeatRows=1
        )
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1565c0")),
                    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                ]
            )
        )
        story.append(table)
        story.append(Spacer(1, 6 * mm))
        totals = [
            [_("Subtotal"), m(quote.subtotal)],
            [_("Discounts"), m(-quote.discount_total)],
            [_("Taxes"), m(quote.tax_total)],
            [_("Shipping"), m(quote.shipping)],
            [_("Total"), m(quote.total)],
        ]
        promo_lines = [p for p in quote.pricing.get("promotions", []) if p["applied"]]
        t2 = Table(totals, colWidths=[40 * mm, 34 * mm], hAlign="RIGHT")
        t2.setStyle(
            TableStyle(
                [
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ]
            )
        )
        story.append(t2)
        if promo_lines:
            story.append(Spacer(1, 4 * mm))
            story.append(
                Paragraph(
                    _("Promotions applied: %(list)s")
                    % {"list": ", ".join(p["name"] for p in promo_lines)},
                    styles["Normal"],
                )
            )
        if quote.notes:
            story.append(Spacer(1, 4 * mm))
            story.append(Paragraph(quote.notes.replace("\n", "<br/>"), styles["Normal"]))
        doc.build(story)
        return buf.getvalue()


# --- sending and accepting ------------------------------------------------------------------


@transaction.atomic
def send_quote(*, actor, quote_id: int, to_email: str = "") -> Quote:
    """Email the quote PDF to the customer (their primary email unless ``to_email``). The mail
    leaves only after the transaction commits; the send is logged on the timeline. An expired
    quote, or one a newer revision replaces, is refused (nothing sent)."""
    quote = lock_quote(quote_id)
    refuse_if_replaced(quote, action="send")
    refuse_if_expired(quote)
    if quote.status not in OPEN_STATUSES:
        raise ValidationError.for_field("status", _("Only a draft or sent quote can be sent."))
    to = normalize_email(to_email or quote.customer.email or "", field="to_email")
    pdf = render_quote_pdf(quote)
    lang = quote.customer.language or translation.get_language() or "en"
    with translation.override(lang):
        subject = _("Your quote %(number)s") % {"number": quote.number}
        body = _(
            "Hello %(name)s,\n\nPlease find attached our quote %(number)s for %(total)s %(cur)s, "
            "valid until %(until)s.\n\nKind regards"
        ) % {
            "name": quote.customer.name,
            "number": quote.number,
            "total": quote.total,
            "cur": quote.currency,
            "until": formats.date_format(quote.valid_until),
        }
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach(f"{quote.number}.pdf", pdf, "application/pdf")
    transaction.on_commit(message.send)
    before = quote.status
    quote.status, quote.sent_at = Quote.Status.SENT, timezone.now()
    quote.version += 1
    quote.save()
    interaction_services.log_interaction(
        actor=actor,
        customer_id=quote.customer_id,
        kind=Interaction.Kind.EMAIL,
        direction=Interaction.Direction.OUTBOUND,
        subject=subject,
        outcome="sent",
        body=_("Quote %(number)s sent to %(to)s") % {"number": quote.number, "to": to},
        related=quote,
    )
    audit.record(
        actor=actor,
        action="update",
        obj=quote,
        customer_id=quote.customer_id,
        changes={"status": [before, "sent"]},
        payload={"to": to},
    )
    return quote


@transaction.atomic
def accept_quote(*, actor, quote_id: int, channel: str = "rep"):
    """The customer accepted: create the order from the quote's lines at the quoted prices.
    If prices or promotions changed since (the order would cost something else), refuse with
    Conflict so nobody is charged a different amount than quoted. An expired quote (past its
    date, whether or not the nightly job marked it yet) is refused, and so is one a newer
    revision replaces (the customer accepts the revision). Idempotent."""
    quote = lock_quote(quote_id)
    if quote.status == Quote.Status.ACCEPTED:
        return quote.order
    refuse_if_replaced(quote, action="accept")
    refuse_if_expired(quote)
    if quote.status == Quote.Status.REJECTED:
        raise ValidationError.for_field(
            "status", _("The customer rejected this quote. Revise it to make a new quote.")
        )
    if quote.status not in OPEN_STATUSES:
        raise ValidationError.for_field("status", _("This quote can no longer be accepted."))
    order = orders.create_order(
        actor=actor,
        customer_id=quote.customer_id,
        lines=quote_cart(quote),
        channel=channel,
        currency=quote.currency,
        coupon_codes=quote.coupon_codes,
        shipping=quote_shipping(quote),
        external_reference=f"quote:{quote.number}",
    )
    if order.total != quote.total:
        raise Conflict(
            _("Prices changed since the quote was made (%(old)s → %(new)s). Make a new quote.")
            % {"old": quote.total, "new": order.total}
        )
    quote.status, quote.accepted_at, quote.order = Quote.Status.ACCEPTED, timezone.now(), order
    quote.version += 1
    quote.save()
    audit.record(
        actor=actor,
        action="update",
        obj=quote,
        customer_id=quote.customer_id,
        changes={"status": ["sent", "accepted"], "order": [None, order.number]},
    )
    note(
        actor,
        quote,
        _("Quote %(number)s accepted: order %(order)s")
        % {"number": quote.number, "order": order.number},
    )
    return order
