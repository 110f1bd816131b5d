"""Order services: create from a priced cart, confirm (reserve stock, record promotion
redemptions), move through statuses with a history, cancel (release stock)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions.services import log_interaction
from vinculo.sales.models import (
    BundleItem,
    Order,
    OrderLine,
    OrderStatusChange,
    Product,
    PromotionRedemption,
)
from vinculo.sales.pricing import CartLine, PricingResult, price_cart

S = Order.Status
# Which status may follow which. Cancel releases reserved stock; ship takes it out of stock;
# a return puts it back.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.PAID, S.SHIPPED, S.CANCELLED},
    S.PAID: {S.SHIPPED, S.CANCELLED},
    S.SHIPPED: {S.DELIVERED, S.RETURNED},
    S.DELIVERED: {S.RETURNED},
    S.CANCELLED: set(),
    S.RETURNED: set(),
}
RESERVED_STATUSES = {S.CONFIRMED, S.PAID}


def _new_number() -> str:
    return timezone.now().strftime("SO-%Y%m%d-") + get_random_string(
        6, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    )


@transaction.atomic
def create_order(
    *,
    actor,
    customer_id: int,
    lines: Sequence[CartLine],
    channel: str = Order.Channel.REP,
    currency: str = "EUR",
    coupon_codes: Sequence[str] = (),
    shipping: Decimal | str | int = 0,
    external_reference: str | None = None,
) -> Order:
    """Create a draft order priced by the pricing engine. Bundles are split into component
    lines (for stock and fulfilment) under the bundle's priced line. Idempotent by
    ``external_reference``: the same reference returns the existing order."""
    if external_reference:
        existing = Order.objects.filter(external_reference=external_reference).first()
        if existing:
            return existing
    if channel not in Order.Channel.values:
        raise ValidationError.for_field("channel", _("Choose a sales channel."))
    customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
    if customer is None:
        raise ValidationError.for_field("customer_id", _("Choose an existing customer."))
    result = price_cart(
        lines=lines,
        customer_id=customer.pk,
        channel=channel,
        currency=currency,
        coupon_codes=coupon_codes,
        shipping=shipping,
    )
    order = Order(
        number=_new_number(),
        customer=customer,
        channel=channel,
        currency=result.currency,
        coupon_codes=[c.strip().upper() for c in coupon_codes if c.strip()],
        external_reference=external_reference or None,
        ordered_at=timezone.now(),
        owner=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _apply_totals(order, result)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        raise Conflict(_("An order with this reference already exists.")) from None
    _write_lines(order, result, lines)
    OrderStatusChange.objects.create(
        order=order, from_status="", to_status=S.DRAFT, changed_by=order.owner
    )
    audit.record(
        actor=actor,
        action="create",
        obj=order,
        customer_id=customer.pk,
        changes={"number": [None, order.number], "total": [None, order.total]},
    )
    _note(
        actor,
        order,
        _("Order %(number)s placed: %(total)s %(currency)s")
        % {"number": order.number, "total": order.total, "currency": order.currency},
    )
    return order


def _note(actor, order: Order, subject: str, body: str = "") -> None:
    """Orders show on the customer's timeline (one customer, one timeline)."""
    log_interaction(
        actor=actor,
        customer_id=order.customer_id,
        kind="note",
        subject=subject[:255],
        body=body,
        related=order,
    )


def _apply_totals(order: Order, result: PricingResult) -> None:
    order.subtotal = result.subtotal
    order.discount_total = result.discount_total
    order.tax_total = result.tax_total
    order.shipping = result.shipping - result.shipping_discount
    order.total = result.total
    order.pricing = result.as_dict()


def _write_lines(order: Order, result: PricingResult, cart: Sequence[CartLine]) -> None:
    products = {p.pk: p for p in Product.objects.filter(pk__in=[ln.product_id for ln in cart])}
    bundles = defaultdict(list)
    for item in BundleItem.objects.filter(bundle_id__in=list(products)).select_related("component"):
        bundles[item.bundle_id].append(item)
    for priced in result.lines:
        product = products[priced.product_id]
        line = OrderLine.objects.create(
            order=order,
            product=product,
            sku=priced.sku,
            name=priced.name,
            options=[{"code": o["code"], "name": o["name"]} for o in priced.options],
            quantity=priced.quantity,
            unit_price=priced.unit_price,
            unit_cost=product.cost,
            discount=priced.discount,
            tax_rate=priced.tax_rate,
            tax=priced.tax,
            total=priced.total,
        )
        # Components carry no price (the bundle line does) but their cost, for margins.
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=item.component,
                bundle_line=line,
                sku=item.component.sku,
                name=item.component.name,
                quantity=item.quantity * priced.quantity,
                unit_price=Decimal("0"),
                unit_cost=item.component.cost,
            )
            for item in bundles.get(product.pk, [])
        )


def stock_lines(order: Order) -> dict[int, int]:
    """Units per product that move stock: component lines for bundles, else the line itself."""
    need: dict[int, int] = defaultdict(int)
    lines = list(order.lines.all())
    has_components = {ln.bundle_line_id for ln in lines if ln.bundle_line_id}
    for ln in lines:
        if ln.pk in has_components:
            continue
        need[ln.product_id] += ln.quantity
    return dict(need)


def _lock_order(order_id: int, expected_version: int | None) -> Order:
    # The customer first, then the order (the fixed lock order; the timeline note locks it).
    customer_id = Order.objects.filter(pk=order_id).values_list("customer_id", flat=True).first()
    if customer_id is not None:
        customer_services.lock_customer(customer_id=customer_id, expected_version=None)
    order = Order.objects.select_for_update().get(pk=order_id)
    if expected_version is not None and int(expected_version) != order.version:
        raise Conflict(_("This order was changed by someone else. Reload and try again."))
    return order


@transaction.atomic
def set_order_status(
    *, actor, order_id: int, status: str, expected_version: int | None = None, note: str = ""
) -> Order:
    """Move an order to ``status`` if the transition is allowed, with its stock effect:
    confirm reserves (refusing with Conflict when stock is short, nothing reserved), cancel
    releases, ship takes the units out of stock, return puts them back. Confirming records
    the promotions used. Idempotent: asking for the current status changes nothing."""
    order = _lock_order(order_id, expected_version)
    if status == order.status:
        return order
    if status not in TRANSITIONS.get(order.status, set()):
        raise ValidationError.for_field(
            "status",
            _("An order that is %(current)s cannot become %(new)s.")
            % {
                "current": S(order.status).label.lower(),
                "new": S(status).label.lower() if status in S.values else status,
            },
        )
    need = stock_lines(order)
    before = order.status
    if status == S.CONFIRMED:
        _reprice_on_confirm(order)
        _reserve(need)
        _record_redemptions(order)
    elif status == S.CANCELLED and before in RESERVED_STATUSES:
        _move_stock(need, reserved=-1, on_hand=0)
    elif status == S.SHIPPED:
        _move_stock(need, reserved=-1, on_hand=-1)
    elif status == S.RETURNED:
        _move_stock(need, reserved=0, on_hand=+1)
    if status == S.CANCELLED:
        order.redemptions.all().delete()
    order.status = status
    order.version += 1
    order.save()
    OrderStatusChange.objects.create(
        order=order,
        from_status=before,
        to_status=status,
        note=(note or "")[:255],
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action="update",
        obj=order,
        customer_id=order.customer_id,
        changes={"status": [before, status]},
    )
    _note(
        actor,
        order,
        _("Order %(number)s is now %(status)s")
        % {"number": order.number, "status": S(status).label.lower()},
        note,
    )
    return order


def _reprice_on_confirm(order: Order) -> None:
    """Promotions may have expired or run out since the draft: re-price and refuse the
    confirmation if the total would change, so the customer is never charged a surprise."""
    cart = [
        CartLine(ln.product_id, ln.quantity, tuple(o["code"] for o in ln.options))
        for ln in order.lines.filter(bundle_line__isnull=True)
    ]
    result = price_cart(
        lines=cart,
        customer_id=order.customer_id,
        channel=order.channel,
        currency=order.currency,
        coupon_codes=order.coupon_codes,
        shipping=Decimal(order.pricing.get("shipping", "0")),
        exclude_order_id=order.pk,
    )
    if result.total != order.total:
        refused = [
            p.name
            for p in result.promotions
            if not p.applied
            and p.name in {x["name"] for x in order.pricing.get("promotions", []) if x["applied"]}
        ]
        raise Conflict(
            _(
                "The price changed since this order was drafted (%(old)s → %(new)s)%(why)s. "
                "Re-price the order before confirming."
            )
            % {
                "old": order.total,
                "new": result.total,
                "why": (": " + ", ".join(refused)) if refused else "",
            }
        )


def _reserve(need: dict[int, int]) -> None:
    products = Product.objects.select_for_update().filter(pk__in=sorted(need)).order_by("pk")
    short = []
    for p in products:
        if p.track_stock and p.stock_on_hand - p.stock_reserved < need[p.pk]:
            short.append(
                _("%(name)s: %(want)s wanted, %(free)s available")
                % {"name": p.name, "want": need[p.pk], "free": p.stock_on_hand - p.stock_reserved}
            )
    if short:
        raise Conflict(_("Not enough stock — %(items)s.") % {"items": "; ".join(short)})
    _move_stock(need, reserved=+1, on_hand=0)


def _move_stock(need: dict[int, int], *, reserved: int, on_hand: int) -> None:
    for product_id in sorted(need):
        qty = need[product_id]
        Product.objects.filter(pk=product_id, track_stock=True).update(
            stock_reserved=F("stock_reserved") + reserved * qty,
            stock_on_hand=F("stock_on_hand") + on_hand * qty,
        )


def _record_redemptions(order: Order) -> None:
    for p in order.pricing.get("promotions", []):
        if p["applied"] and p["promotion_id"]:
            PromotionRedemption.objects.get_or_create(
                promotion_id=p["promotion_id"],
                order=order,
                defaults={"customer_id": order.customer_id, "amount": Decimal(p["amount"])},
            )
